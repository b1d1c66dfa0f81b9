"""Idempotency keys: a retried POST gets the first answer back and writes nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveblog.db.models import IdempotencyKey, utcnow
from liveblog.errors import InvalidInput

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class IdempotentRequest:
    """The key a client sent and a fingerprint of what it asked for."""

    key: str
    fingerprint: str

    @classmethod
    def from_request(cls, key: str | None, method: str, path: str, body: bytes):  # type: ignore[no-untyped-def]
        """None without a key; otherwise the key with a hash of method, path and body."""
        if key is None:
            return None
        if not key or len(key) > MAX_KEY_LENGTH:
            raise InvalidInput(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
                field="Idempotency-Key",
            )
        digest = hashlib.sha256(b"\n".join([method.encode(), path.encode(), body]))
        return cls(key=key, fingerprint=digest.hexdigest())


@dataclass(frozen=True)
class Answer:
    """An HTTP status and JSON body, as first given."""

    status: int
    body: dict[str, object]


def earlier_answer(session: Session, user_id: int, request: IdempotentRequest) -> Answer | None:
    """The stored answer for this user's key, or None; the same key for another request is 422."""
    row = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.key == request.key
        )
    )
    if row is None:
        return None
    if row.request_hash != request.fingerprint:
        raise InvalidInput(
            "this Idempotency-Key was already used for a different request",
            field="Idempotency-Key",
        )
    return Answer(row.status, row.response)


def remember(session: Session, user_id: int, request: IdempotentRequest, answer: Answer) -> None:
    """Store the answer in the same transaction as the write it answers."""
    session.add(
        IdempotencyKey(
            user_id=user_id,
            key=request.key,
            request_hash=request.fingerprint,
            status=answer.status,
            response=answer.body,
            created_at=utcnow(),
        )
    )
