"""Answering a transfer offer (accept, decline) and withdrawing one (cancel).

The offer banner (live.js) posts these with ``fetch`` and gets JSON back, so a
counsellor answering from the middle of another chat loses nothing they typed;
without script the same forms post and are redirected.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from counsellor_ui import auth
from counsellor_ui.web import path_id, redirect
from gateway.actions.handover import accept_transfer, cancel_transfer, decline_transfer
from gateway.actions.signin import SignedIn
from gateway.services import Services
from gateway.visible_text import reveal_invisible

_ACCEPT_REFUSED = {
    "no_offer": "That offer has been withdrawn or has timed out.",
    "at_capacity": "You already have as many chats as you can take. End one, then accept.",
}


def _answer(request: Request, *, ok: bool, message: str, go: str) -> Response:
    if request.headers.get("x-requested-with") == "fetch":
        # Names in the message reach staff with hidden characters shown (visible_text).
        shown = reveal_invisible(message)
        return JSONResponse({"ok": ok, "message": shown, "go": go if ok else ""})
    return redirect(go if ok else "/counsellor/", notice=message)


async def _posted(request: Request) -> tuple[Services, SignedIn, int]:
    who = await auth.require(request)
    await auth.check_csrf(request, who)
    return auth.runtime_of(request).svc, who, path_id(request)


async def accept(request: Request) -> Response:
    svc, who, session_id = await _posted(request)
    result = await accept_transfer(svc, session_id=session_id, staff=who.staff)
    if result.ok:
        message = f"Chat {session_id} is now yours. {result.from_name}'s handover note is with it."
        return _answer(request, ok=True, message=message, go=f"/counsellor/sessions/{session_id}")
    return _answer(request, ok=False, message=_ACCEPT_REFUSED[result.reason], go="")


async def decline(request: Request) -> Response:
    svc, who, session_id = await _posted(request)
    ok = await decline_transfer(svc, session_id=session_id, staff=who.staff)
    message = "You declined the transfer." if ok else _ACCEPT_REFUSED["no_offer"]
    return _answer(request, ok=ok, message=message, go="/counsellor/")


async def cancel(request: Request) -> Response:
    svc, who, session_id = await _posted(request)
    ok = await cancel_transfer(svc, session_id=session_id, staff=who.staff)
    message = (
        "Transfer cancelled. The chat stays with you." if ok else "There was no offer to cancel."
    )
    return _answer(request, ok=ok, message=message, go=f"/counsellor/sessions/{session_id}")
