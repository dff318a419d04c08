"""Signing in and out of the workspace."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

from counsellor_ui import auth
from counsellor_ui.web import form_text, page, redirect
from gateway.actions.signin import normalise_username, sign_in, sign_out, start_staff_session
from gateway.actions.staff import set_presence


async def sign_in_page(request: Request) -> Response:
    if await auth.signed_in(request) is not None:
        return redirect("/counsellor/")
    return _login_form(request)


def _login_form(
    request: Request, error: str = "", username: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(
        request, "sign_in.html", status, login_csrf=token, error=error, username=username
    )
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
    form = await request.form()
    username = normalise_username(form_text(form, "username"))
    password = form_text(form, "password")
    sent = form_text(form, "login_csrf")
    if not sent or not secrets.compare_digest(
        sent, request.cookies.get(auth.LOGIN_CSRF_COOKIE, "")
    ):
        return _login_form(request, "The form expired. Please try again.", username, 400)
    svc = auth.runtime_of(request).svc
    result = await sign_in(svc, username=username, password=password)
    if result.blocked:
        minutes = int(svc.settings.login_window_s // 60)
        return _login_form(
            request,
            "Too many failed attempts for this username. "
            f"Wait {minutes} minutes or ask a supervisor to help.",
            username,
            429,
        )
    if result.staff is None:
        return _login_form(request, "That username and password did not match.", username, 401)
    session_id, _csrf = await start_staff_session(
        svc, staff_id=result.staff.id, replaces=auth.session_id_of(request)
    )
    await set_presence(svc, staff_id=result.staff.id, available=True)
    response = redirect("/counsellor/")
    auth.set_session_cookie(response, request, session_id, int(svc.settings.staff_session_s))
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path=auth.COOKIE_PATH)
    return response


async def sign_out_post(request: Request) -> Response:
    who = await auth.require(request)
    await auth.check_csrf(request, who)
    session_id = auth.session_id_of(request) or ""
    await sign_out(auth.runtime_of(request).svc, session_id=session_id)
    response = redirect("/counsellor/sign-in")
    response.delete_cookie(auth.SESSION_COOKIE, path=auth.COOKIE_PATH)
    return response
