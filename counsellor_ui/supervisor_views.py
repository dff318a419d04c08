"""Supervisors' pages: the service now and today's waits, and the canned responses."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from counsellor_ui import auth
from counsellor_ui.board import board_context
from counsellor_ui.statistics_views import CLASS_LABELS
from counsellor_ui.web import form_int, form_text, page, query_text, redirect
from gateway.actions.canned import CannedError, delete_canned, list_canned, save_canned
from gateway.actions.live_board import live_board
from gateway.actions.ratings import ratings_summary
from gateway.actions.snapshot import queue_snapshot
from gateway.actions.statistics import statistics_for


async def _live_context(request: Request) -> dict[str, Any]:
    """The live board as the page first shows it (the socket pushes it afterwards)."""
    svc = auth.runtime_of(request).svc
    board = await live_board(svc, await queue_snapshot(svc))
    return board_context(board, svc.settings)


async def supervisor(request: Request) -> Response:
    who = await auth.require(request, supervisor=True)
    notice = query_text(request, "notice")  # e.g. after "Clear flood"; parsed first
    svc = auth.runtime_of(request).svc
    # Today's figures are the statistics page's for today: one definition of a wait.
    today = svc.settings.hours.local(svc.clock()).date()
    return page(
        request,
        "supervisor.html",
        who=who,
        supervisor=True,
        stats=await statistics_for(svc, first=today, last=today),
        class_labels=CLASS_LABELS,
        ratings=await ratings_summary(svc),
        timezone=svc.settings.timezone,
        notice=notice,
        **await _live_context(request),
    )


async def supervisor_live(request: Request) -> Response:
    """The live part alone, which the supervisor page fetches again as things change."""
    await auth.require(request, supervisor=True)
    return page(request, "supervisor_live.html", **await _live_context(request))


async def canned_page(request: Request) -> Response:
    who = await auth.require(request, supervisor=True)
    notice = query_text(request, "notice")
    return page(
        request,
        "canned.html",
        who=who,
        supervisor=True,
        responses=await list_canned(auth.runtime_of(request).svc),
        notice=notice,
    )


async def canned_save(request: Request) -> Response:
    who = await auth.require(request, supervisor=True)
    form = await auth.check_csrf(request, who)
    svc = auth.runtime_of(request).svc
    canned_id = form_int(form, "id") if form_text(form, "id") else None
    entered = {name: form_text(form, name) for name in ("title", "shortcut", "body")}
    try:
        await save_canned(svc, staff=who.staff, canned_id=canned_id, **entered)
    except CannedError as exc:
        # The list again, with the form that failed open, what was typed kept, and why.
        return page(
            request,
            "canned.html",
            400,
            who=who,
            supervisor=True,
            responses=await list_canned(svc),
            error=str(exc),
            editing=canned_id or "new",
            entered=entered,
        )
    return redirect("/counsellor/canned", notice="Saved.")


async def canned_delete(request: Request) -> Response:
    who = await auth.require(request, supervisor=True)
    form = await auth.check_csrf(request, who)
    await delete_canned(
        auth.runtime_of(request).svc, staff=who.staff, canned_id=form_int(form, "id")
    )
    return redirect("/counsellor/canned", notice="Deleted.")
