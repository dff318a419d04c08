"""Stepping in: a supervisor watches any live chat, whispers, joins or takes over.

Supervisors and admins only (a counsellor gets the 403 page, which shows
nothing of the chat). Every opening of the watch page is recorded in the
audit log; so are whispers, joins and take-overs (``gateway/actions/supervision``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from counsellor_ui import auth
from counsellor_ui.transcript import shown_transcript
from counsellor_ui.web import form_text, page, path_id, query_text, redirect
from gateway.actions.messages import messages_after
from gateway.actions.notes import notes_for
from gateway.actions.redact_sweep import as_shown
from gateway.actions.signin import SignedIn
from gateway.actions.supervision import (
    SupervisionError,
    has_joined,
    join_chat,
    record_watch,
    take_over,
    whisper,
)
from gateway.actions.workspace import glance, person_seems_gone
from gateway.models import ChatSession
from gateway.services import Services
from gateway.types import Priority, SessionState


def _session_id(request: Request) -> int:
    return path_id(request)


def _watch_url(session_id: int) -> str:
    return f"/counsellor/sessions/{session_id}/watch"


async def _chat(svc: Services, session_id: int) -> ChatSession:
    async with svc.read() as session:
        chat = await session.get(ChatSession, session_id)
    if chat is None:
        raise auth.PageError(404, "There is no such chat.")
    return chat


async def _posted(request: Request) -> tuple[SignedIn, str, int]:
    """A supervisor's form post: who, the form's text, the chat."""
    who = await auth.require(request, supervisor=True)
    form = await auth.check_csrf(request, who)
    return who, form_text(form, "message"), _session_id(request)


async def watch(request: Request) -> Response:
    """Any chat, read-only, updating live; the opening is recorded."""
    who = await auth.require(request, supervisor=True)
    notice = query_text(request, "notice")  # a bad one is refused before the watch is recorded
    svc = auth.runtime_of(request).svc
    chat = await _chat(svc, _session_id(request))
    if chat.counsellor_id == who.staff.id and chat.state == SessionState.LIVE:
        return redirect(f"/counsellor/sessions/{chat.id}")
    await record_watch(svc, session_id=chat.id, staff=who.staff)
    seen = await glance(svc, session_id=chat.id)
    live = chat.state == SessionState.LIVE
    lines, notes = as_shown(
        svc,
        chat,
        await messages_after(svc, session_id=chat.id),
        await notes_for(svc, session_id=chat.id),
    )
    return page(
        request,
        "watch.html",
        who=who,
        supervisor=True,
        chat=chat,
        live=live,
        priority=Priority(chat.priority),
        holder=seen.owner_name if seen else None,
        lines=shown_transcript(lines, chat.escalation_match, chat.locale),
        notes=notes,
        joined=await has_joined(svc, session_id=chat.id, staff=who.staff),
        person_gone=live and person_seems_gone(svc, chat, svc.clock()),
        notice=notice,
    )


async def whisper_post(request: Request) -> Response:
    who, text, session_id = await _posted(request)
    try:
        name = await whisper(
            auth.runtime_of(request).svc, session_id=session_id, staff=who.staff, text=text
        )
    except SupervisionError as exc:
        return redirect(_watch_url(session_id), notice=str(exc))
    return redirect(
        _watch_url(session_id), notice=f"Sent to {name} privately. The person cannot see it."
    )


async def join_post(request: Request) -> Response:
    who, _, session_id = await _posted(request)
    try:
        await join_chat(auth.runtime_of(request).svc, session_id=session_id, staff=who.staff)
    except SupervisionError as exc:
        return redirect(_watch_url(session_id), notice=str(exc))
    return redirect(
        _watch_url(session_id),
        notice="You have joined the chat. The person was told; your messages go to them.",
    )


async def take_over_post(request: Request) -> Response:
    who, _, session_id = await _posted(request)
    try:
        result = await take_over(
            auth.runtime_of(request).svc, session_id=session_id, staff=who.staff
        )
    except SupervisionError as exc:
        return redirect(_watch_url(session_id), notice=str(exc))
    return redirect(
        f"/counsellor/sessions/{session_id}",
        notice=f"The chat is yours now. {result.from_name} and the person were told.",
    )
