"""Pages and form posts of the counsellor workspace. Views parse; actions act."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from counsellor_ui import auth
from counsellor_ui.timefmt import clock_time, waiting_for
from counsellor_ui.ws import counsellor_socket
from gateway.actions.messages import messages_after
from gateway.actions.queue import (
    claim_session,
    end_session,
    live_sessions_of,
    queue_rows,
    release_session,
    session_for_staff,
    take_next,
)
from gateway.actions.staff import (
    authenticate,
    end_staff_session,
    set_presence,
    start_staff_session,
)
from gateway.types import Priority, SessionState

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["waiting_for"] = waiting_for
templates.env.filters["clock_time"] = clock_time
templates.env.globals["Priority"] = Priority

_throttle: auth.SignInThrottle | None = None


def _throttle_for(request: Request) -> auth.SignInThrottle:
    global _throttle
    settings = auth.runtime_of(request).svc.settings
    if _throttle is None:
        _throttle = auth.SignInThrottle(settings.login_max_failures, settings.login_window_s)
    return _throttle


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


async def sign_in_page(request: Request) -> Response:
    if await auth.signed_in(request) is not None:
        return _redirect("/counsellor/")
    return _login_form(request)


def _login_form(
    request: Request, error: str = "", username: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    response = _page(
        request, "sign_in.html", status, login_csrf=token, error=error, username=username
    )
    response.set_cookie(
        auth.LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/counsellor",
        secure=request.url.scheme == "https",
    )
    return response


async def sign_in(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username", "")).strip().lower()
    password = str(form.get("password", ""))
    sent = str(form.get("login_csrf", ""))
    if not sent or not secrets.compare_digest(
        sent, request.cookies.get(auth.LOGIN_CSRF_COOKIE, "")
    ):
        return _login_form(request, "The form expired. Please try again.", username, 400)
    throttle = _throttle_for(request)
    if throttle.blocked(username):
        return _login_form(
            request,
            "Too many failed attempts for this username. Wait 30 minutes or ask a supervisor.",
            username,
            429,
        )
    svc = auth.runtime_of(request).svc
    staff = await authenticate(svc, username=username, password=password)
    if staff is None:
        throttle.failed(username)
        return _login_form(request, "That username and password did not match.", username, 401)
    throttle.succeeded(username)
    session_id, _csrf = await start_staff_session(svc, staff_id=staff.id)
    await set_presence(svc, staff_id=staff.id, available=True)
    response = _redirect("/counsellor/")
    auth.set_session_cookie(response, request, session_id, int(svc.settings.staff_session_s))
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/counsellor")
    return response


async def sign_out(request: Request) -> Response:
    who = await auth.require(request)
    await auth.check_csrf(request, who)
    session_id = request.cookies.get(auth.SESSION_COOKIE, "")
    await end_staff_session(auth.runtime_of(request).svc, session_id=session_id)
    response = _redirect("/counsellor/sign-in")
    response.delete_cookie(auth.SESSION_COOKIE, path="/counsellor")
    return response


async def dashboard(request: Request) -> Response:
    who = await auth.require(request)
    svc = auth.runtime_of(request).svc
    rows = await queue_rows(svc)
    mine = await live_sessions_of(svc, staff_id=who.staff.id)
    return _page(
        request,
        "dashboard.html",
        who=who,
        rows=rows,
        mine=mine,
        now=svc.clock(),
        notice=request.query_params.get("notice", ""),
    )


_CLAIM_NOTICES = {
    "at_capacity": "You already have as many chats as you can take. End one first.",
    "not_queued": "That person is no longer waiting.",
    "inactive": "Your account is not active.",
}


async def claim(request: Request) -> Response:
    who = await auth.require(request)
    await auth.check_csrf(request, who)
    session_id = int(request.path_params["session_id"])
    result = await claim_session(
        auth.runtime_of(request).svc, session_id=session_id, staff_id=who.staff.id
    )
    if result.won:
        return _redirect(f"/counsellor/sessions/{session_id}")
    if result.reason == "taken":
        notice = f"{result.owner_name} claimed this chat first."
    else:
        notice = _CLAIM_NOTICES.get(result.reason, "That chat could not be claimed.")
    return _redirect("/counsellor/?" + _query(notice=notice))


async def claim_next(request: Request) -> Response:
    who = await auth.require(request)
    await auth.check_csrf(request, who)
    result = await take_next(auth.runtime_of(request).svc, staff_id=who.staff.id)
    if result is None:
        return _redirect("/counsellor/?" + _query(notice="Nobody is waiting right now."))
    if result.won:
        return _redirect(f"/counsellor/sessions/{result.session_id}")
    return _redirect("/counsellor/?" + _query(notice=_CLAIM_NOTICES.get(result.reason, "")))


def _query(**params: str) -> str:
    return urlencode(params)


async def conversation(request: Request) -> Response:
    who = await auth.require(request)
    svc = auth.runtime_of(request).svc
    session_id = int(request.path_params["session_id"])
    chat = await session_for_staff(svc, session_id=session_id)
    if chat is None:
        raise HTTPException(404, "There is no such chat.")
    if chat.counsellor_id != who.staff.id:
        return _page(request, "not_yours.html", 403, who=who, chat=chat)
    lines = await messages_after(svc, session_id=session_id)
    return _page(
        request,
        "conversation.html",
        who=who,
        chat=chat,
        lines=lines,
        live=chat.state == SessionState.LIVE,
        priority=Priority(chat.priority),
    )


async def end(request: Request) -> Response:
    who = await auth.require(request)
    await auth.check_csrf(request, who)
    session_id = int(request.path_params["session_id"])
    await end_session(auth.runtime_of(request).svc, session_id=session_id, staff_id=who.staff.id)
    return _redirect("/counsellor/?" + _query(notice="The chat has ended."))


async def release(request: Request) -> Response:
    who = await auth.require(request)
    await auth.check_csrf(request, who)
    session_id = int(request.path_params["session_id"])
    await release_session(
        auth.runtime_of(request).svc, session_id=session_id, staff_id=who.staff.id
    )
    return _redirect(
        "/counsellor/?" + _query(notice="The person is back at the front of the queue.")
    )


async def presence(request: Request) -> Response:
    who = await auth.require(request)
    await auth.check_csrf(request, who)
    form = await request.form()
    available = form.get("available") == "yes"
    await set_presence(auth.runtime_of(request).svc, staff_id=who.staff.id, available=available)
    return _redirect("/counsellor/")


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    return _redirect("/counsellor/sign-in")


def counsellor_routes() -> list[BaseRoute]:
    return [
        Route("/", dashboard),
        Route("/sign-in", sign_in_page, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
        Route("/presence", presence, methods=["POST"]),
        Route("/take-next", claim_next, methods=["POST"]),
        Route("/sessions/{session_id:int}", conversation),
        Route("/sessions/{session_id:int}/claim", claim, methods=["POST"]),
        Route("/sessions/{session_id:int}/release", release, methods=["POST"]),
        Route("/sessions/{session_id:int}/end", end, methods=["POST"]),
        WebSocketRoute("/ws", counsellor_socket),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="counsellor_static"),
    ]


EXCEPTION_HANDLERS = {auth.SignInRequired: _sign_in_required}
