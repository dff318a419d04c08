"""Who is signed in: an opaque session id in a cookie, CSRF tokens, sign-in throttling."""

from __future__ import annotations

import secrets
import time
from collections import defaultdict, deque

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from gateway.actions.staff import SignedIn, staff_for_session
from gateway.runtime import Runtime
from gateway.types import StaffRole

SESSION_COOKIE = "haven_staff"
LOGIN_CSRF_COOKIE = "haven_login_csrf"


def runtime_of(conn: HTTPConnection) -> Runtime:
    runtime: Runtime = conn.state.runtime
    return runtime


async def signed_in(conn: HTTPConnection) -> SignedIn | None:
    session_id = conn.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    return await staff_for_session(runtime_of(conn).svc, session_id=session_id)


class SignInRequired(Exception):
    """Raised by ``require``; answered with a redirect to the sign-in page."""


async def require(request: Request, *, supervisor: bool = False) -> SignedIn:
    who = await signed_in(request)
    if who is None:
        raise SignInRequired
    if supervisor and not StaffRole(who.staff.role).can_supervise:
        raise HTTPException(403, "This page is for supervisors.")
    return who


async def check_csrf(request: Request, who: SignedIn) -> None:
    form = await request.form()
    token = str(form.get("csrf_token", ""))
    if not secrets.compare_digest(token, who.csrf_token):
        raise HTTPException(403, "The form has expired. Go back, reload the page and try again.")


def set_session_cookie(response: Response, request: Request, session_id: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=max_age,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
        path="/counsellor",
    )


class SignInThrottle:
    """At most ``limit`` failed sign-ins per username in ``window_s`` seconds."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, username: str, now: float) -> deque[float]:
        failures = self._failures[username]
        while failures and now - failures[0] >= self.window_s:
            failures.popleft()
        return failures

    def blocked(self, username: str) -> bool:
        return len(self._recent(username, time.monotonic())) >= self.limit

    def failed(self, username: str) -> None:
        self._recent(username, time.monotonic()).append(time.monotonic())

    def succeeded(self, username: str) -> None:
        self._failures.pop(username, None)
