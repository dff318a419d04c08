"""The conversation view and what a counsellor does to a chat they hold.

Release, transfer, hand back to the bot and private notes. Ending is in
``wrapup_views`` because it needs the wrap-up form. Every view checks that the
signed-in counsellor holds the chat; the actions check it again under the
session's row lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from counsellor_ui import auth
from counsellor_ui.transcript import ShownLine, shown_transcript
from counsellor_ui.web import form_int, form_text, page, path_id, query_text, redirect
from gateway.actions.audit import record_views
from gateway.actions.canned import list_canned
from gateway.actions.chat_tabs import live_chats_of
from gateway.actions.handover import hand_back_to_bot, offer_transfer
from gateway.actions.messages import messages_after
from gateway.actions.notes import NoteError, NoteLine, add_note, notes_for
from gateway.actions.queue import release_session
from gateway.actions.redact_sweep import as_shown
from gateway.actions.sessions import was_erased
from gateway.actions.signin import SignedIn
from gateway.actions.staff import colleagues_online
from gateway.actions.workspace import chat_for_staff, glance, person_seems_gone
from gateway.actions.wrapup import wrapup_of
from gateway.models import CannedResponse, ChatSession
from gateway.services import Services
from gateway.types import Priority, SessionState


def _session_id(request: Request) -> int:
    return path_id(request)


async def _held_chat(request: Request, who: SignedIn) -> ChatSession:
    """The chat in the URL, if the signed-in counsellor holds it."""
    chat = await chat_for_staff(auth.runtime_of(request).svc, session_id=_session_id(request))
    if chat is None:
        raise auth.PageError(404, "There is no such chat.")
    if chat.counsellor_id != who.staff.id:
        raise auth.PageError(403, "This chat is not yours.")
    return chat


@dataclass(frozen=True)
class ChatTab:
    """One chat of the workspace: a tab and the panel it shows."""

    chat: ChatSession
    live: bool
    lines: list[ShownLine]
    priority: Priority
    notes: list[NoteLine]
    person_gone: bool
    wrapped: bool
    erased: bool


async def _tab(svc: Services, chat: ChatSession) -> ChatTab:
    live = chat.state == SessionState.LIVE
    lines, notes = as_shown(
        svc,
        chat,
        await messages_after(svc, session_id=chat.id),
        await notes_for(svc, session_id=chat.id),
    )
    return ChatTab(
        chat=chat,
        live=live,
        lines=shown_transcript(lines, chat.escalation_match, chat.locale),
        priority=Priority(chat.priority),
        notes=notes,
        person_gone=live and person_seems_gone(svc, chat, svc.clock()),
        wrapped=await wrapup_of(svc, session_id=chat.id) is not None,
        erased=was_erased(chat),
    )


def _canned_choices(canned: list[CannedResponse]) -> list[dict[str, str]]:
    """What the message box offers after a ``/`` (read by conversation.js)."""
    return [{"title": c.title, "shortcut": c.shortcut or "", "body": c.body} for c in canned]


async def conversation(request: Request) -> Response:
    """The chat workspace: the chat in the URL and the counsellor's other live chats as tabs."""
    who = await auth.require(request)
    svc = auth.runtime_of(request).svc
    session_id = _session_id(request)
    notice = query_text(request, "notice")
    chat = await chat_for_staff(svc, session_id=session_id)
    if chat is None:
        raise auth.PageError(404, "There is no such chat.")
    if chat.counsellor_id != who.staff.id:
        # Someone else's chat, or one back in the queue: who has it and a preview, no more.
        return page(
            request,
            "not_yours.html",
            403,
            who=who,
            seen=await glance(svc, session_id=session_id),
            notice=notice,
        )
    held = await live_chats_of(svc, staff_id=who.staff.id)
    if all(c.id != chat.id for c in held):
        held.append(chat)  # a chat that has ended still opens, beside the live ones
    tabs = [await _tab(svc, c) for c in held]
    # Each transcript shown is in the audit log (a held live chat once per holding).
    await record_views(svc, staff_id=who.staff.id, chats=held)
    colleagues = [c for c in await colleagues_online(svc) if c.id != who.staff.id]
    return page(
        request,
        "conversation.html",
        who=who,
        tabs=tabs,
        selected=chat.id,
        canned=_canned_choices(await list_canned(svc)) if any(t.live for t in tabs) else [],
        colleagues=colleagues,
        max_chats=svc.settings.counsellor_max_chats,
        erase_policy=svc.settings.erase_staff_records,
        notice=notice,
    )


async def release(request: Request) -> Response:
    who = await auth.require(request)
    await auth.check_csrf(request, who)
    session_id = _session_id(request)
    if not await release_session(
        auth.runtime_of(request).svc, session_id=session_id, staff_id=who.staff.id
    ):
        raise auth.PageError(403, "This chat is not yours to release.")
    return redirect("/counsellor/", notice="The person is back at the front of the queue.")


_TRANSFER_NOTICES = {
    "note_required": "Write a handover note for your colleague, then transfer.",
    "yourself": "Choose a colleague other than yourself.",
    "no_such_colleague": "That colleague's account is not active.",
    "offline": "{name} is not signed in right now. Choose someone who is.",
    "at_capacity": "{name} already has as many chats as they can take.",
    "not_yours": "This chat is no longer yours.",
    "pending": "This chat is already offered to {name}. Cancel that offer first.",
}


async def transfer(request: Request) -> Response:
    who = await auth.require(request)
    form = await auth.check_csrf(request, who)
    session_id = _session_id(request)
    result = await offer_transfer(
        auth.runtime_of(request).svc,
        session_id=session_id,
        from_staff=who.staff,
        to_staff_id=form_int(form, "to"),
        note=form_text(form, "note"),
    )
    if result.ok:
        # An offer: the chat stays here, live, until the colleague accepts.
        return redirect(
            f"/counsellor/sessions/{session_id}",
            notice=f"Transfer offered to {result.to_name}. Keep chatting until they answer.",
        )
    notice = _TRANSFER_NOTICES[result.reason].format(name=result.to_name or "")
    return redirect(f"/counsellor/sessions/{session_id}", notice=notice)


async def hand_back(request: Request) -> Response:
    who = await auth.require(request)
    await auth.check_csrf(request, who)
    runtime = auth.runtime_of(request)
    session_id = _session_id(request)
    turn = await hand_back_to_bot(runtime.svc, session_id=session_id, staff=who.staff)
    if turn is None:
        raise auth.PageError(403, "This chat is not yours to hand back.")
    runtime.deliver(turn)
    return redirect("/counsellor/", notice=f"Chat {session_id} is back with the bot.")


async def note(request: Request) -> Response:
    who = await auth.require(request)
    form = await auth.check_csrf(request, who)
    chat = await _held_chat(request, who)
    try:
        await add_note(
            auth.runtime_of(request).svc,
            session_id=chat.id,
            staff=who.staff,
            text=form_text(form, "note"),
        )
    except NoteError as exc:
        return redirect(f"/counsellor/sessions/{chat.id}", notice=str(exc))
    except PermissionError as exc:
        raise auth.PageError(403, "This chat is not yours.") from exc
    return redirect(f"/counsellor/sessions/{chat.id}", notice="Note saved. Only staff see it.")
