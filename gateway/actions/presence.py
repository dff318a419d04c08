"""Presence in batches, and the stored pulse of the sessions a process is serving.

A process keeps who is connected in memory (``gateway/live/hub.py``). Once a
heartbeat it writes all of it in one unit of work (``mark_present``) and
reads back, in one query, the stored state of every session it serves
(``session_pulses``), so that an idle connection costs no database work of
its own and a lost event is noticed within two heartbeats.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from gateway.models import ChatSession, Staff, StaffSession
from gateway.security import hash_token
from gateway.services import Services
from gateway.types import SessionState

# Ids per statement: well under SQLite's limit on bound parameters.
CHUNK = 500


def _chunks(ids: Collection[int]) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


async def mark_present(
    svc: Services, *, session_ids: Collection[int], staff_ids: Collection[int]
) -> None:
    """People whose widget is open and staff whose workspace is open, seen now."""
    if not session_ids and not staff_ids:
        return
    async with svc.transaction() as tx:
        for chunk in _chunks(session_ids):
            await tx.session.execute(
                update(ChatSession)
                .where(ChatSession.id.in_(chunk))
                .values(user_seen_at=tx.now)
                .execution_options(synchronize_session=False)
            )
        for chunk in _chunks(staff_ids):
            await tx.session.execute(
                update(Staff)
                .where(Staff.id.in_(chunk))
                .values(seen_at=tx.now)
                .execution_options(synchronize_session=False)
            )


@dataclass(frozen=True)
class SessionPulse:
    """A session as stored, for a connection to compare with what it has sent."""

    id: int
    state: SessionState
    last_seq: int
    counsellor_id: int | None
    counsellor_name: str | None
    user_seen_at: datetime


async def session_pulses(svc: Services, *, session_ids: Collection[int]) -> dict[int, SessionPulse]:
    """The stored state of these sessions (a missing id was deleted)."""
    pulses: dict[int, SessionPulse] = {}
    if not session_ids:
        return pulses
    async with svc.read() as session:
        for chunk in _chunks(session_ids):
            rows = await session.execute(
                select(
                    ChatSession.id,
                    ChatSession.state,
                    ChatSession.last_seq,
                    ChatSession.counsellor_id,
                    Staff.display_name,
                    ChatSession.user_seen_at,
                )
                .outerjoin(Staff, Staff.id == ChatSession.counsellor_id)
                .where(ChatSession.id.in_(chunk))
            )
            for sid, state, last_seq, counsellor_id, name, seen in rows.all():
                live = state == SessionState.LIVE.value
                pulses[sid] = SessionPulse(
                    sid,
                    SessionState(state),
                    last_seq,
                    counsellor_id,
                    name if live else None,
                    seen,
                )
    return pulses


async def current_staff_sessions(svc: Services, *, session_ids: Collection[str]) -> set[str]:
    """Which of these staff session ids (from cookies) are still signed in."""
    if not session_ids:
        return set()
    by_hash = {hash_token(s): s for s in session_ids}
    now = svc.clock()
    current: set[str] = set()
    hashes = sorted(by_hash)
    async with svc.read() as session:
        for i in range(0, len(hashes), CHUNK):
            rows = await session.execute(
                select(StaffSession.id_hash)
                .join(Staff, Staff.id == StaffSession.staff_id)
                .where(
                    StaffSession.id_hash.in_(hashes[i : i + CHUNK]),
                    StaffSession.expires_at > now,
                    Staff.active.is_(True),
                )
            )
            current.update(by_hash[h] for h in rows.scalars())
    return current
