"""Ending a chat: the wrap-up form, which must be complete before the chat closes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from counsellor_ui import auth
from counsellor_ui.web import form_text, page, path_id, redirect
from gateway.actions.sessions import was_erased, wrapup_after_erase, wrapup_notes_after_erase
from gateway.actions.signin import SignedIn
from gateway.actions.workspace import chat_for_staff
from gateway.actions.wrapup import (
    RISK_LEVELS,
    WrapUpError,
    WrapUpForm,
    check_wrapup,
    end_session,
    wrapup_of,
)
from gateway.models import ChatSession
from gateway.types import SessionState


async def _chat_to_wrap_up(request: Request, who: SignedIn) -> ChatSession | Response:
    """The chat, or where to send the counsellor if there is nothing to wrap up."""
    svc = auth.runtime_of(request).svc
    session_id = path_id(request)
    chat = await chat_for_staff(svc, session_id=session_id)
    if chat is None:
        raise auth.PageError(404, "There is no such chat.")
    if chat.counsellor_id != who.staff.id or chat.state not in (
        SessionState.LIVE,
        SessionState.CLOSED,
    ):
        raise auth.PageError(403, "This chat is not yours to end.")
    if await wrapup_of(svc, session_id=session_id) is not None:
        return redirect("/counsellor/", notice=f"Chat {session_id} is already wrapped up.")
    if was_erased(chat) and not wrapup_after_erase(svc.settings.erase_staff_records):
        return redirect("/counsellor/", notice=ERASED_NOTHING_KEPT.format(id=session_id))
    return chat


ERASED_NOTHING_KEPT = (
    "The person deleted chat {id}. This service keeps no record of a deleted chat, "
    "so no wrap-up is needed."
)


def _form_page(
    request: Request,
    who: SignedIn,
    chat: ChatSession,
    *,
    values: WrapUpForm | None = None,
    error: str = "",
) -> Response:
    svc = auth.runtime_of(request).svc
    return page(
        request,
        "wrap_up.html",
        400 if error else 200,
        who=who,
        chat=chat,
        live=chat.state == SessionState.LIVE,
        erased=was_erased(chat),
        notes_kept=not was_erased(chat)
        or wrapup_notes_after_erase(svc.settings.erase_staff_records),
        outcomes=svc.settings.wrapup_outcomes,
        risks=RISK_LEVELS,
        values=values or WrapUpForm((), "", ""),
        error=error,
    )


async def wrap_up_page(request: Request) -> Response:
    who = await auth.require(request)
    chat = await _chat_to_wrap_up(request, who)
    if isinstance(chat, Response):
        return chat
    return _form_page(request, who, chat)


async def end(request: Request) -> Response:
    who = await auth.require(request)
    form = await auth.check_csrf(request, who)
    chat = await _chat_to_wrap_up(request, who)
    if isinstance(chat, Response):
        return chat
    svc = auth.runtime_of(request).svc
    chosen = tuple(v for v in form.getlist("outcome") if isinstance(v, str))
    values = WrapUpForm(chosen, form_text(form, "risk_level"), form_text(form, "notes"))
    try:
        wrap_up = check_wrapup(
            svc, outcomes=values.outcomes, risk_level=values.risk_level, notes=values.notes
        )
    except WrapUpError as exc:
        return _form_page(request, who, chat, values=values, error=str(exc))
    result = await end_session(svc, session_id=chat.id, staff_id=who.staff.id, wrap_up=wrap_up)
    if result.outcome == "erased":
        return redirect("/counsellor/", notice=ERASED_NOTHING_KEPT.format(id=chat.id))
    if not result.done:
        raise auth.PageError(403, "This chat is not yours to end.")
    if result.outcome == "ended":
        return redirect("/counsellor/", notice=f"Chat {chat.id} has ended. Wrap-up saved.")
    return redirect("/counsellor/", notice=f"Wrap-up for chat {chat.id} saved.")
