"""The workspace's routes. Views parse; actions act.

GET never changes anything but the audit log (a chat's page, a watch and a CSV
download are recorded: docs/security.md, "Audit log"); every POST carries the
session's CSRF token; every view checks the signed-in role it needs (``auth.require``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from counsellor_ui import auth
from counsellor_ui.audit_views import audit_csv, audit_page_view
from counsellor_ui.chat_views import conversation, hand_back, note, release, transfer
from counsellor_ui.erase_views import erase_page, erase_post
from counsellor_ui.flood_views import clear_flood_post
from counsellor_ui.password_views import password_page, password_post
from counsellor_ui.queue_views import claim, claim_next, dashboard, presence
from counsellor_ui.signin_views import sign_in_page, sign_in_post, sign_out_post
from counsellor_ui.staff_views import (
    staff_active,
    staff_create,
    staff_page,
    staff_reset,
    staff_role,
    staff_unlock,
)
from counsellor_ui.statistics_views import statistics_csv, statistics_page
from counsellor_ui.supervision_views import join_post, take_over_post, watch, whisper_post
from counsellor_ui.supervisor_views import (
    canned_delete,
    canned_page,
    canned_save,
    supervisor,
    supervisor_live,
)
from counsellor_ui.transfer_views import accept, cancel, decline
from counsellor_ui.web import HERE, brand_stylesheet, page, redirect
from counsellor_ui.wrapup_views import end, wrap_up_page
from counsellor_ui.ws import counsellor_socket
from gateway.actions.records import SessionNotFound

POST = ["POST"]


def counsellor_routes() -> list[BaseRoute]:
    chat = "/sessions/{session_id:int}"
    return [
        Route("/", dashboard),
        Route("/brand.css", brand_stylesheet),
        Route("/sign-in", sign_in_page, methods=["GET"]),
        Route("/sign-in", sign_in_post, methods=POST),
        Route("/sign-out", sign_out_post, methods=POST),
        Route("/presence", presence, methods=POST),
        Route("/take-next", claim_next, methods=POST),
        Route(chat, conversation),
        Route(f"{chat}/claim", claim, methods=POST),
        Route(f"{chat}/release", release, methods=POST),
        Route(f"{chat}/transfer", transfer, methods=POST),
        Route(f"{chat}/transfer/accept", accept, methods=POST),
        Route(f"{chat}/transfer/decline", decline, methods=POST),
        Route(f"{chat}/transfer/cancel", cancel, methods=POST),
        Route(f"{chat}/hand-back", hand_back, methods=POST),
        Route(f"{chat}/notes", note, methods=POST),
        Route(f"{chat}/wrap-up", wrap_up_page, methods=["GET"]),
        Route(f"{chat}/end", end, methods=POST),
        Route(f"{chat}/watch", watch, methods=["GET"]),
        Route(f"{chat}/whisper", whisper_post, methods=POST),
        Route(f"{chat}/join", join_post, methods=POST),
        Route(f"{chat}/take-over", take_over_post, methods=POST),
        Route("/supervisor", supervisor),
        Route("/supervisor/live", supervisor_live),
        Route("/floods/{label}/clear", clear_flood_post, methods=POST),
        Route("/statistics", statistics_page, methods=["GET"]),
        Route("/statistics.csv", statistics_csv, methods=["GET"]),
        Route("/canned", canned_page, methods=["GET"]),
        Route("/canned", canned_save, methods=POST),
        Route("/canned/delete", canned_delete, methods=POST),
        Route("/audit", audit_page_view, methods=["GET"]),
        Route("/audit.csv", audit_csv, methods=["GET"]),
        Route("/staff", staff_page, methods=["GET"]),
        Route("/staff", staff_create, methods=POST),
        Route("/staff/active", staff_active, methods=POST),
        Route("/staff/role", staff_role, methods=POST),
        Route("/staff/reset", staff_reset, methods=POST),
        Route("/staff/unlock", staff_unlock, methods=POST),
        Route("/password", password_page, methods=["GET"]),
        Route("/password", password_post, methods=POST),
        Route("/erase", erase_page, methods=["GET"]),
        Route("/erase", erase_post, methods=POST),
        WebSocketRoute("/ws", counsellor_socket),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="counsellor_static"),
    ]


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    return redirect("/counsellor/sign-in")


async def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, auth.PageError)
    who = await auth.signed_in(request)
    return page(request, "error.html", exc.status_code, who=who, message=exc.message)


async def _no_such_chat(request: Request, exc: Exception) -> Response:
    """A post about a chat that does not exist (a number typed, or one just erased)."""
    return await _page_error(request, auth.PageError(404, "There is no such chat."))


async def _password_change_required(request: Request, exc: Exception) -> Response:
    return redirect("/counsellor/password")


EXCEPTION_HANDLERS = {
    auth.SignInRequired: _sign_in_required,
    auth.PasswordChangeRequired: _password_change_required,
    auth.PageError: _page_error,
}
EXCEPTION_HANDLERS[SessionNotFound] = _no_such_chat
