"""Signing in and out of the workspace.

Every sign-in starts a new staff session, whatever cookie the browser brought
(that session is deleted), and the sign-in page never follows a cookie straight
into an account: it shows the form, and says whose session the browser already
has, with a choice to continue as them or sign out.
"""

from __future__ import annotations

import math
import secrets

from starlette.requests import Request
from starlette.responses import Response

from counsellor_ui import auth
from counsellor_ui.web import form_text, page, redirect
from gateway.actions.signin import (
    SignedIn,
    SignInResult,
    normalise_username,
    sign_in,
    sign_out,
    start_staff_session,
)
from gateway.actions.staff import set_presence
from gateway.inputs import same_secret

# Answered with 503 when password hashing is at its bound (gateway/password_work.py).
BUSY = "The service is busy right now. Try again in a moment."
BUSY_RETRY_S = 5
# A browser an account signed in from (gateway/signin_limits.py, ``device_token``):
# wrong passwords from elsewhere do not slow its sign-in. Half a year, then once more.
KNOWN_BROWSER_COOKIE = "haven_known_browser"
KNOWN_BROWSER_S = 183 * 24 * 3600


def try_again_in(seconds: float) -> str:
    """``in about 12 minutes``, in words a tired person reads at a glance."""
    minutes = math.ceil(seconds / 60)
    return "in a minute" if minutes <= 1 else f"in about {minutes} minutes"


def _refusal_message(result: SignInResult) -> str:
    when = try_again_in(result.retry_after_s)
    if result.refused == "address":
        return (
            "Too many sign-in attempts have come from this network. "
            f"Try again {when}. If you need to sign in sooner, call your admin."
        )
    return (
        "Too many wrong passwords for this username from here (this internet address). "
        f"Try again {when}, or ask an admin to unlock your account."
    )


async def sign_in_page(request: Request) -> Response:
    return _login_form(request, current=await auth.signed_in(request))


def _login_form(
    request: Request,
    error: str = "",
    username: str = "",
    status: int = 200,
    *,
    current: SignedIn | None = None,
    retry_after_s: float = 0,
) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "sign_in.html",
        status,
        login_csrf=token,
        error=error,
        username=username,
        current=current,
    )
    if retry_after_s:
        response.headers["Retry-After"] = str(math.ceil(retry_after_s))
    # The sign-in form has no session yet, so its CSRF token is a double-submit cookie.
    response.set_cookie(
        auth.LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path=auth.COOKIE_PATH,
        secure=request.url.scheme == "https",
    )
    return response


async def sign_in_post(request: Request) -> Response:
    form = await request.form(max_files=0)  # no file, ever (400)
    try:
        username = normalise_username(form_text(form, "username", multiline=False))
        password = form_text(form, "password", max_chars=1024, multiline=False)
        sent = form_text(form, "login_csrf", multiline=False)
    except auth.PageError:
        # A control character (NUL above all) matches no account: the usual answer.
        return _login_form(request, "That username and password did not match.", "", 400)
    if not sent or not same_secret(sent, request.cookies.get(auth.LOGIN_CSRF_COOKIE, "")):
        return _login_form(request, "The form expired. Please try again.", username, 400)
    svc = auth.runtime_of(request).svc
    address = request.client.host if request.client else ""
    device = request.cookies.get(KNOWN_BROWSER_COOKIE)
    result = await sign_in(
        svc, username=username, password=password, address=address, device=device
    )
    if result.refused is not None:
        message = _refusal_message(result)
        return _login_form(request, message, username, 429, retry_after_s=result.retry_after_s)
    if result.busy:
        return _login_form(request, BUSY, username, 503, retry_after_s=BUSY_RETRY_S)
    if result.staff is None:
        return _login_form(request, "That username and password did not match.", username, 401)
    session_id, _csrf = await start_staff_session(
        svc, staff_id=result.staff.id, replaces=auth.session_id_of(request)
    )
    if result.staff.must_change_password:
        response = redirect("/counsellor/password")
    else:
        await set_presence(svc, staff_id=result.staff.id, available=True)
        response = redirect("/counsellor/")
    auth.set_session_cookie(response, request, session_id, int(svc.settings.staff_session_s))
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path=auth.COOKIE_PATH)
    # This browser is now known for this account: no slow-down here, first in line.
    response.set_cookie(
        KNOWN_BROWSER_COOKIE,
        svc.signin_limits.device_token(username),
        max_age=KNOWN_BROWSER_S,
        httponly=True,
        samesite="strict",
        path=auth.COOKIE_PATH,
        secure=request.url.scheme == "https" or svc.settings.public_url.startswith("https:"),
    )
    return response


async def sign_out_post(request: Request) -> Response:
    who = await auth.require(request, new_password=True)
    await auth.check_csrf(request, who)
    session_id = auth.session_id_of(request) or ""
    await sign_out(auth.runtime_of(request).svc, session_id=session_id)
    response = redirect("/counsellor/sign-in")
    auth.delete_session_cookie(response, request)
    return response
