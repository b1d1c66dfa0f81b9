"""What every desk page shares: the signed-in user, htmx or a plain load, desk rendering.
(Its forms share forms.py.)"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from liveblog.db.models import User
from liveblog.errors import Forbidden, SignInRequired
from liveblog.web.auth import csrf_token, session_user
from liveblog.web.services import services


async def desk_user(request: Request) -> User:
    """The user signed in to the desk by session cookie, or SignInRequired."""
    user = await session_user(request)
    if user is None:
        raise SignInRequired("sign in to use the desk")
    return user


async def desk_admin(request: Request) -> User:
    """The signed-in user, who must be an admin."""
    user = await desk_user(request)
    if user.role != "admin":
        raise Forbidden("only admins can manage users")
    return user


def is_htmx(request: Request) -> bool:
    """True for a request htmx made (it swaps a fragment rather than loading a page)."""
    return request.headers.get("hx-request") == "true"


def go_to(request: Request, url: str) -> Response:
    """Send the browser to url: a full load for htmx (HX-Redirect), a 303 for a plain form."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def render_desk(
    request: Request, template: str, user: User | None, status: int = 200, **context: object
) -> Response:
    """Render a desk template (a page or a fragment) with the user and the CSRF token."""
    page = services(request).templates.get_template(template)
    html = page.render(request=request, user=user, csrf=csrf_token(request), **context)
    return HTMLResponse(html, status_code=status)
