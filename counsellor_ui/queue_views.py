"""The dashboard: the queue, your chats, your status; claiming and taking the next person."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from counsellor_ui import auth
from counsellor_ui.web import form_text, page, path_id, query_text, redirect
from gateway.actions.floods import flood_groups
from gateway.actions.queue import ClaimResult, claim_session, take_next
from gateway.actions.snapshot import queue_snapshot
from gateway.actions.staff import set_presence
from gateway.actions.wrapup import wrapups_due
from gateway.opening_hours import next_change_text
from gateway.types import StaffRole


async def dashboard(request: Request) -> Response:
    who = await auth.require(request)
    notice = query_text(request, "notice")  # parsed before any work is done for it
    svc = auth.runtime_of(request).svc
    now = svc.clock()
    # The same read the live socket pushes: queue, availability and this counsellor's chats.
    snapshot = await queue_snapshot(svc, staff_ids={who.staff.id})
    hours = svc.settings.hours
    return page(
        request,
        "dashboard.html",
        who=who,
        supervisor=StaffRole(who.staff.role).can_supervise,
        rows=snapshot.rows,
        floods={group.label: group for group in flood_groups(snapshot.rows)},
        mine=snapshot.chats_of(who.staff.id),
        due=await wrapups_due(svc, staff_id=who.staff.id),
        available=snapshot.available,
        on_duty=snapshot.on_duty,
        service_open=hours.is_open(now),
        service_hours=next_change_text(hours, now),
        max_chats=svc.settings.counsellor_max_chats,
        ageing_min=int(svc.settings.queue_ageing_s // 60),
        now=now,
        notice=notice,
    )


_CLAIM_NOTICES = {
    "at_capacity": "You already have as many chats as you can take. End or pass on one first.",
    "not_queued": "That person is no longer waiting.",
    "inactive": "Your account is not active.",
}


def _after_claim(result: ClaimResult | None) -> Response:
    if result is None:
        return redirect("/counsellor/", notice="Nobody is waiting right now.")
    if result.won:
        return redirect(f"/counsellor/sessions/{result.session_id}")
    if result.reason == "taken":
        # The loser is told who won, and may glance at the chat, never read it.
        return redirect(
            f"/counsellor/sessions/{result.session_id}",
            notice=f"{result.owner_name} claimed this chat first.",
        )
    return redirect(
        "/counsellor/", notice=_CLAIM_NOTICES.get(result.reason, "That chat could not be claimed.")
    )


async def claim(request: Request) -> Response:
    who = await auth.require(request)
    await auth.check_csrf(request, who)
    session_id = path_id(request)
    result = await claim_session(
        auth.runtime_of(request).svc, session_id=session_id, staff_id=who.staff.id
    )
    return _after_claim(result)


async def claim_next(request: Request) -> Response:
    who = await auth.require(request)
    await auth.check_csrf(request, who)
    return _after_claim(await take_next(auth.runtime_of(request).svc, staff_id=who.staff.id))


async def presence(request: Request) -> Response:
    who = await auth.require(request)
    form = await auth.check_csrf(request, who)
    available = form_text(form, "available") == "yes"
    await set_presence(auth.runtime_of(request).svc, staff_id=who.staff.id, available=available)
    return redirect(
        "/counsellor/",
        notice="You are available for new chats." if available else "You are set as away.",
    )
