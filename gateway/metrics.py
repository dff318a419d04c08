"""Prometheus metrics: what an operator graphs and alerts on (docs/operations: metrics).

Each application has its own ``CollectorRegistry`` (several apps in one test run
must not share counters). Two kinds of figure:

* **Counted by this process** as things happen: waits that ended in a claim
  (a histogram by priority), bot turns, escalations by risk level. Prometheus
  adds up the processes (``sum by (...)``); a restart starts them at zero, which
  ``rate()`` understands.
* **Read from the database once per scrape**, the same for every process: people
  waiting by priority, open sessions by state, sessions started, messages stored.
  Each query reads an index only, so a scrape stays cheap however much history
  there is (closed sessions are never counted row by row: ``haven_sessions_started``
  is the highest session number, as ``haven_messages_stored`` is for messages).

Open connections by kind come from this process's live hub.

No label ever carries message text, a session id, a name or anything a person
wrote: labels are drawn from small fixed sets (priority, state, level, kind).
"""

from __future__ import annotations

import hmac
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot_engine import RiskLevel
from gateway.models import ChatSession, Message, QueueWait
from gateway.types import Priority, SessionState

# Priority as a label: its number would mean nothing on a dashboard.
PRIORITY_LABELS = {
    Priority.CRISIS: "crisis",
    Priority.REQUESTED: "requested",
    Priority.OTHER: "other",
}
# Seconds: a crisis target is often a minute, others ten; the tail goes to an hour.
WAIT_BUCKETS = (15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)
CONNECTION_KINDS = ("widget", "workspace")
# Why a staff sign-in was refused before its password was checked (gateway/actions/signin.py).
SIGNIN_REFUSALS = ("address", "address_account", "busy")
# Sessions by state are counted for the open states only: an index range each, where
# counting every closed session of years of history would cost a scan per scrape.
OPEN_STATES = (SessionState.BOT.value, SessionState.QUEUED.value, SessionState.LIVE.value)
CONTENT_TYPE = CONTENT_TYPE_LATEST


def priority_label(priority: int) -> str:
    try:
        return PRIORITY_LABELS[Priority(priority)]
    except ValueError:
        return "other"


def tokens_match(given: str, expected: str) -> bool:
    """Compare a bearer token in constant time (an empty expected token never matches)."""
    if not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class Metrics:
    """The metric families of one application, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._messages_seen = 0
        self._sessions_seen = 0
        self.queue_waiting = Gauge(
            "haven_queue_waiting",
            "People waiting in the queue now, by priority (from the database at scrape).",
            ["priority"],
            registry=r,
        )
        self.wait_seconds = Histogram(
            "haven_queue_wait_seconds",
            "Waits that ended in a claim (claimed minus queued), by the wait's priority; "
            "counted by the process that saw the claim.",
            ["priority"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.sessions = Gauge(
            "haven_sessions",
            "Chat sessions open now, by state: with the bot, queued, live "
            "(from the database at scrape).",
            ["state"],
            registry=r,
        )
        self.connections = Gauge(
            "haven_connections_open",
            "Open websocket connections of this process, by kind (widget: a person; "
            "workspace: a member of staff).",
            ["kind"],
            registry=r,
        )
        self.started = Counter(
            "haven_sessions_started",
            "Chat sessions started since the database began (the highest session "
            "number, so erased ones count; from the database at scrape).",
            registry=r,
        )
        self.messages = Counter(
            "haven_messages_stored",
            "Messages stored since the database began (the highest message number, "
            "so erased messages are still counted; from the database at scrape).",
            registry=r,
        )
        self.bot_turns = Counter(
            "haven_bot_turns",
            "Steps of the scripted bot run by this process (one per input it answered).",
            registry=r,
        )
        self.escalations = Counter(
            "haven_escalations",
            "Sessions put in the queue, or raised while waiting, by this process, "
            "by risk level (none: asked for a person without a crisis).",
            ["level"],
            registry=r,
        )
        self.signin_refused = Counter(
            "haven_signin_refused",
            "Staff sign-ins refused before any password check, by why: a throttle "
            "(address; address_account) or the bound on password hashing (busy). A rise "
            "is someone trying passwords in bulk (docs/security.md).",
            ["reason"],
            registry=r,
        )
        # Every label value present from the start, so a graph shows 0, not a gap.
        for label in PRIORITY_LABELS.values():
            self.queue_waiting.labels(label)
            self.wait_seconds.labels(label)
        for state in OPEN_STATES:
            self.sessions.labels(state)
        for kind in CONNECTION_KINDS:
            self.connections.labels(kind)
        for level in RiskLevel:
            self.escalations.labels(level.value)
        for reason in SIGNIN_REFUSALS:
            self.signin_refused.labels(reason)

    # --- counted as things happen ------------------------------------------

    def wait_claimed(
        self, *, priority: int, entered_at: datetime | None, claimed_at: datetime
    ) -> None:
        if entered_at is None:
            return
        waited = max(0.0, (claimed_at - entered_at).total_seconds())
        self.wait_seconds.labels(priority_label(priority)).observe(waited)

    def bot_turn(self) -> None:
        self.bot_turns.inc()

    def escalated(self, level: str) -> None:
        self.escalations.labels(RiskLevel.parse(level).value).inc()

    def sign_in_refused(self, reason: str) -> None:
        self.signin_refused.labels(reason if reason in SIGNIN_REFUSALS else "busy").inc()

    # --- read at scrape ------------------------------------------------------

    async def refresh(self, session: AsyncSession, *, widgets: int, workspaces: int) -> None:
        """Read the database's figures (one read-only transaction) and the hub's counts."""
        waiting = dict.fromkeys(PRIORITY_LABELS.values(), 0)
        rows = await session.execute(
            select(ChatSession.priority, func.count())
            .where(ChatSession.state == SessionState.QUEUED.value)
            .group_by(ChatSession.priority)
        )
        for priority, count in rows:
            waiting[priority_label(priority)] += int(count)
        for label, count in waiting.items():
            self.queue_waiting.labels(label).set(count)

        states = dict.fromkeys(OPEN_STATES, 0)
        for state, count in await session.execute(
            select(ChatSession.state, func.count())
            .where(ChatSession.state.in_(OPEN_STATES))
            .group_by(ChatSession.state)
        ):
            if state in states:
                states[state] = int(count)
        for state, count in states.items():
            self.sessions.labels(state).set(count)

        # Counters only go up: inc by the difference (a smaller number after an
        # erase of the newest rows on SQLite leaves them where they were).
        started = (await session.execute(select(func.max(ChatSession.id)))).scalar() or 0
        if started > self._sessions_seen:
            self.started.inc(started - self._sessions_seen)
            self._sessions_seen = started
        highest = (await session.execute(select(func.max(Message.id)))).scalar() or 0
        if highest > self._messages_seen:
            self.messages.inc(highest - self._messages_seen)
            self._messages_seen = highest

        self.connections.labels("widget").set(widgets)
        self.connections.labels("workspace").set(workspaces)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


async def open_wait_began(session: AsyncSession, session_id: int) -> datetime | None:
    """When the session's open wait began (read just before a claim closes it)."""
    return (
        await session.execute(
            select(QueueWait.entered_at).where(
                QueueWait.session_id == session_id, QueueWait.ended_at.is_(None)
            )
        )
    ).scalar_one_or_none()
