"""Worker side of the crisis scenario: counsellors' dashboards and the person in crisis.

Each dashboard socket stamps, for every marker, when a ``queue`` frame first
listed a row whose preview holds it (``seen``) and when one first did not any
more (``gone``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bench.clients import (
    Conn,
    Frame,
    bot_done,
    is_type,
    now,
    open_widget,
    open_workspace,
    poll,
    say,
)
from bench.scenarios.people import summary
from bench.workers import WorkerContext

CRISIS = "I want to kill myself"


def crisis_text(marker: str) -> str:
    return f"{CRISIS} {marker}"


@dataclass
class Dashboard:
    number: int
    server: int  # which gateway process it is connected to
    conn: Conn
    markers: set[str] = field(default_factory=set)
    seen: dict[str, float] = field(default_factory=dict)
    gone: dict[str, float] = field(default_factory=dict)

    def on_frame(self, frame: Frame, at: float) -> None:
        if frame["type"] != "queue":
            return
        previews = [row.get("preview") or "" for row in frame.get("rows", [])]
        for marker in self.markers:
            listed = any(marker in preview for preview in previews)
            if listed and marker not in self.seen:
                self.seen[marker] = at
            elif not listed and marker in self.seen and marker not in self.gone:
                self.gone[marker] = at


def _dashboards(ctx: WorkerContext) -> list[Dashboard]:
    dashboards: list[Dashboard] = ctx.state.setdefault("dashboards", [])
    return dashboards


async def w_open_dashboards(
    ctx: WorkerContext, *, dashboards: list[tuple[int, int, str, str]], timeout_s: float
) -> dict[str, Any]:
    """Open (number, server index, server url, staff cookie) dashboards, all at once."""
    durations: list[float] = []

    async def one(number: int, server: int, base_ws: str, cookie: str) -> None:
        started = now()
        conn, _first = await open_workspace(base_ws, cookie, timeout_s=timeout_s)
        dashboard = Dashboard(number, server, conn)
        conn.handler = dashboard.on_frame
        conn.drain()
        _dashboards(ctx).append(dashboard)
        durations.append(now() - started)

    results = await asyncio.gather(*(one(*d) for d in dashboards), return_exceptions=True)
    return summary(durations, [r for r in results if isinstance(r, BaseException)])


async def w_watch(ctx: WorkerContext, *, marker: str) -> None:
    for dashboard in _dashboards(ctx):
        dashboard.markers.add(marker)


async def w_wait(
    ctx: WorkerContext, *, marker: str, event: str, timeout_s: float
) -> list[tuple[int, int, float | None]]:
    """Wait until every dashboard has ``seen`` (or seen ``gone``) the marker, or timeout_s;
    then (dashboard, server, when) for each, None where it never happened."""
    dashboards = _dashboards(ctx)
    await poll(lambda: all(marker in getattr(d, event) for d in dashboards), timeout_s)
    for d in dashboards:
        if event == "gone" or marker not in d.seen:
            d.markers.discard(marker)
    return [(d.number, d.server, getattr(d, event).get(marker)) for d in dashboards]


async def w_crisis(
    ctx: WorkerContext, *, base_ws: str, marker: str, timeout_s: float
) -> dict[str, float]:
    """A new person, past the greeting, writes a crisis message. When it was sent, and
    when the person's own widget showed the queue."""
    conn, _welcome = await open_widget(base_ws, timeout_s=timeout_s)
    ctx.state["crisis_person"] = conn
    await conn.until(bot_done, timeout_s)
    sent = now()
    await conn.send(say(f"crisis-{marker}", crisis_text(marker)))
    queued = (await conn.until(is_type("queue"), timeout_s))[-1]
    return {"sent": sent, "queued": queued["_at"]}


async def w_leave(ctx: WorkerContext) -> None:
    conn: Conn = ctx.state.pop("crisis_person")
    await conn.send({"type": "leave"})
    await conn.close()
