"""Who is signed in: an opaque session id in a cookie, roles, and CSRF tokens.

Every view starts with ``require`` (signed in, and the role the page needs)
and every form post with ``check_csrf``. The websocket checks the same cookie
at the handshake and again before each frame it acts on.
"""

from __future__ import annotations

from itsdangerous import BadSignature, Signer
from starlette.datastructures import FormData, Headers
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.actions.signin import SignedIn, staff_for_session
from gateway.inputs import same_secret
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.types import StaffRole

SESSION_COOKIE = "haven_staff"
LOGIN_CSRF_COOKIE = "haven_login_csrf"
COOKIE_PATH = "/counsellor"


def runtime_of(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.state.runtime
    return runtime


def _signer(secret_key: str) -> Signer:
    return Signer(secret_key, salt="haven-staff-session")


def cookie_value(secret_key: str, session_id: str) -> str:
    """The session cookie: the opaque id, signed with the deployment's secret key.

    A forged or tampered cookie is refused before any database lookup, and a new
    secret key signs everybody out.
    """
    return _signer(secret_key).sign(session_id).decode()


def session_id_of(conn: HTTPConnection) -> str | None:
    """The opaque staff session id from a validly signed cookie, else None."""
    settings = runtime_of(conn).svc.settings
    raw = conn.cookies.get(session_cookie_name(settings))
    if not raw:
        return None
    try:
        return _signer(settings.secret_key).unsign(raw).decode()
    except BadSignature:
        return None


async def signed_in(conn: HTTPConnection) -> SignedIn | None:
    session_id = session_id_of(conn)
    if session_id is None:
        return None
    return await staff_for_session(runtime_of(conn).svc, session_id=session_id)


class SignInRequired(Exception):
    """Raised by ``require``; answered with a redirect to the sign-in page."""


class PageError(Exception):
    """Answered with a plain page saying what went wrong (403, 404, 400)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class PasswordChangeRequired(Exception):
    """Raised by ``require`` after an admin reset the password; answered with a
    redirect to the page for choosing a new one (counsellor_ui/password_views.py)."""


async def require(
    request: Request, *, supervisor: bool = False, admin: bool = False, new_password: bool = False
) -> SignedIn:
    """The signed-in staff member, who must supervise when ``supervisor`` is set and be
    an admin when ``admin`` is. Until a reset password is replaced, every page but the
    password page (``new_password``) sends them there."""
    who = await signed_in(request)
    if who is None:
        raise SignInRequired
    if who.staff.must_change_password and not new_password:
        raise PasswordChangeRequired
    if admin and StaffRole(who.staff.role) != StaffRole.ADMIN:
        raise PageError(403, "This page is for admins.")
    if supervisor and not StaffRole(who.staff.role).can_supervise:
        raise PageError(403, "This page is for supervisors and admins.")
    return who


async def check_csrf(request: Request, who: SignedIn) -> FormData:
    """The posted form, if it carries this session's CSRF token."""
    # No staff form takes a file: one sent is refused (400) before it is spooled to disk.
    form = await request.form(max_files=0)
    token = str(form.get("csrf_token", ""))
    if not token or not same_secret(token, who.csrf_token):
        raise PageError(403, "The form has expired. Go back, reload the page and try again.")
    return form


class OwnOriginOnly:
    """Refuses a staff form post sent from any page but the gateway's own (403 page).

    A browser sends ``Origin`` with every cross-origin POST. One that names another
    site, even the charity's own (whose pages are same-site, so the staff cookie goes
    along), is refused before any view runs, and so is ``Origin: null`` unless the
    browser says the post came from the same origin (``Sec-Fetch-Site``, which no
    page can forge). A request with no ``Origin`` still needs the session's CSRF
    token (``check_csrf``). The staff socket checks the same
    origins at its handshake (``counsellor_ui/ws.py``).
    """

    SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, app: ASGIApp, *, origins: frozenset[str]) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in self.SAFE_METHODS:
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin == "null" and headers.get("sec-fetch-site") == "same-origin":
                origin = None  # a page of ours that hid its origin (a no-referrer policy)
            if origin is not None and origin.rstrip("/").lower() not in self.origins:
                raise PageError(
                    403,
                    "This form was sent from another web site, so it was not accepted. "
                    "Use the workspace's own pages.",
                )
        await self.app(scope, receive, send)


def session_cookie_name(settings: Settings) -> str:
    """``__Host-haven_staff`` over TLS, else ``haven_staff`` (plain http in development).

    A browser keeps a ``__Host-`` cookie only if it is Secure, has Path=/ and no
    Domain, so no other host of the charity's domain (its web site, a compromised
    subdomain) can set or shadow the staff session cookie.
    """
    return f"__Host-{SESSION_COOKIE}" if settings.tls else SESSION_COOKIE


def set_session_cookie(response: Response, request: Request, session_id: str, max_age: int) -> None:
    settings = runtime_of(request).svc.settings
    response.set_cookie(
        session_cookie_name(settings),
        cookie_value(settings.secret_key, session_id),
        max_age=max_age,
        httponly=True,
        secure=settings.tls or request.url.scheme == "https",
        samesite="lax",
        path="/" if settings.tls else COOKIE_PATH,
    )


def delete_session_cookie(response: Response, request: Request) -> None:
    settings = runtime_of(request).svc.settings
    response.delete_cookie(
        session_cookie_name(settings),
        path="/" if settings.tls else COOKIE_PATH,
        secure=settings.tls,
        httponly=True,
        samesite="lax",
    )
