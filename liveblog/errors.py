"""Errors that carry what a person needs to know: an HTTP status, a code and a message."""

from __future__ import annotations


class ConfigError(Exception):
    """A setting or command-line value that cannot be used."""


class LiveblogError(Exception):
    """An error answered to an API client as {"error": {"code", "message"}}."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_json(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"error": error}


class InvalidInput(LiveblogError):
    status = 422
    code = "invalid"


class NotAuthenticated(LiveblogError):
    status = 401
    code = "not_authenticated"


class SignInRequired(NotAuthenticated):
    """A desk page asked for without a (still valid) session: the answer is the sign-in form."""


class Forbidden(LiveblogError):
    status = 403
    code = "forbidden"


class NotFound(LiveblogError):
    status = 404
    code = "not_found"


class Conflict(LiveblogError):
    status = 409
    code = "conflict"


# A write refused by the database's constraints (a row changed or gone under it).
COLLISION = "this change collides with another one; try again"


class TooLarge(LiveblogError):
    status = 413
    code = "too_large"


class Unavailable(LiveblogError):
    status = 503
    code = "unavailable"


class PreconditionFailed(LiveblogError):
    status = 412
    code = "precondition_failed"


class TooManyRequests(LiveblogError):
    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
