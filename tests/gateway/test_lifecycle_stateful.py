"""Any sequence of person, counsellor, timer and restart actions keeps every session valid.

A hypothesis state machine drives the real actions against a real SQLite
database, with a clock it moves by hand and "restarts" that throw away every
object in memory. After every step it checks, for every session:

* the state is a known one, and its columns agree with it (a live chat has an
  owner, a queued one none; a finished one has ``closed_at``);
* the transcript is gap-free: seqs run 1..``last_seq``;
* one owner at most, and no counsellor holds more than the limit;
* the bot said nothing while the session was queued or live.

SQLite only: PostgreSQL runs the same actions in the other tests, and here it
would only make each example slower.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
from collections import Counter
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from bot_engine import AskCounsellor, SessionEvent
from gateway.actions.bot import BotTurn
from gateway.actions.conversation import person_says
from gateway.actions.handover import accept_transfer, hand_back_to_bot, offer_transfer
from gateway.actions.messages import SessionClosed
from gateway.actions.presence import mark_present
from gateway.actions.queue import claim_session, release_session, take_next
from gateway.actions.sessions import leave_session, start_session
from gateway.actions.staff import create_staff, set_presence
from gateway.actions.wrapup import check_wrapup, end_session
from gateway.app import build_bot
from gateway.broker import MemoryBroker
from gateway.db import Database
from gateway.delivery import BotDelivery
from gateway.live.hub import LiveHub
from gateway.models import ChatSession, Message, Staff
from gateway.ratelimit import ConnectionCounter
from gateway.runtime import Runtime
from gateway.scheduler import fire_due_timers
from gateway.services import Services
from gateway.types import SessionState, StaffRole
from tests.conftest import fresh_pg_database, make_settings
from tests.counsellor_ui.support import Clock, use_quick_setup

T = TypeVar("T")
WORDS = [
    "hello",
    "I want to talk to a person",
    "I want to end my life",
    "I feel a bit better",
    "Yes, continue",
]
STEPS_S = [5, 30, 125, 700, 3700]  # past the grace period, abandonment and check-in
_runs = itertools.count()


class Lifecycle(RuleBasedStateMachine):
    def __init__(self, template: Path | str, folder: Path) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self._database: contextlib.AbstractAsyncContextManager[str] | None = None
        if isinstance(template, Path):
            path = folder / f"run{next(_runs)}.db"
            shutil.copyfile(template, path)
            url = f"sqlite+aiosqlite:///{path}"
        else:  # the name of a migrated PostgreSQL template database
            self._database = fresh_pg_database(template)
            url = self.run(self._database.__aenter__())
        self.settings = make_settings(url, folder)
        self.clock = Clock()
        self.runtime = self._boot()
        self.sessions: list[int] = []
        self.staff: list[Staff] = []
        self.seen: dict[int, tuple[str, int]] = {}  # session -> (state, bot lines) last step

    def _boot(self) -> Runtime:
        svc = Services(
            settings=self.settings,
            db=Database(self.settings.effective_database_url),
            broker=MemoryBroker(),
            bot=build_bot(self.settings),
            clock=self.clock,
        )
        return Runtime(svc, BotDelivery(svc.broker), ConnectionCounter(20), LiveHub(svc))

    @property
    def svc(self) -> Services:
        return self.runtime.svc

    def run(self, coroutine: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.run(self._shutdown())
        if self._database is not None:
            self.run(self._database.__aexit__(None, None, None))
        self.loop.close()

    async def _shutdown(self) -> None:
        await self.runtime.delivery.close()
        await self.svc.db.dispose()

    def pick(self, items: list[T], index: int) -> T:
        return items[index % len(items)]

    def chat_in(self, index: int, *states: SessionState) -> ChatSession:
        """A session in one of ``states`` if there is one (most actions need one), else any."""
        chats = self.run(self._chats())
        fitting = [c for c in chats if c.state in states] or chats
        return self.pick(fitting, index)

    async def _chats(self) -> list[ChatSession]:
        async with self.svc.read() as session:
            return list(
                (await session.execute(select(ChatSession).order_by(ChatSession.id))).scalars()
            )

    def actor(self, chat: ChatSession, as_owner: bool, index: int) -> Staff:
        """The chat's owner, or (to check refusals) whoever ``index`` picks."""
        owners = [s for s in self.staff if s.id == chat.counsellor_id]
        return owners[0] if as_owner and owners else self.pick(self.staff, index)

    # --- the people ---------------------------------------------------------

    @initialize()
    def staff_on_duty(self) -> None:
        for name, role in (("Sam", "counsellor"), ("Jo", "counsellor"), ("Lead", "supervisor")):
            staff = self.run(
                create_staff(
                    self.svc,
                    username=name.lower(),
                    display_name=name,
                    password="a long password",
                    role=StaffRole(role),
                )
            )
            self.run(set_presence(self.svc, staff_id=staff.id, available=True))
            self.staff.append(staff)

    def open_sessions(self) -> int:
        return sum(1 for state, _ in self.seen.values() if state not in ("closed", "abandoned"))

    # A few people at a time, so that each session lives through many steps.
    @precondition(lambda self: self.open_sessions() < 3)
    @rule()
    def a_person_opens_the_chat(self) -> None:
        view, _token = self.run(start_session(self.svc, locale="en"))
        self.run(self.runtime.bot_turn(view.id, SessionEvent(kind="started")))
        self.sessions.append(view.id)

    @precondition(lambda self: self.sessions)
    @rule(who=st.integers(0), text=st.sampled_from(WORDS), client=st.integers(0, 3))
    def the_person_writes(self, who: int, text: str, client: int) -> None:
        """What the widget's handler does with a message (gateway/live/widget.py)."""
        session_id = self.pick(self.sessions, who)
        try:
            said = self.run(
                person_says(
                    self.svc, session_id=session_id, client_id=f"{text}-{client}", text=text
                )
            )
        except SessionClosed:
            return
        if said.turn is not None:
            self.run(self._deliver(said.turn))

    async def _deliver(self, turn: BotTurn) -> None:
        self.runtime.deliver(turn)

    @precondition(lambda self: self.sessions)
    @rule(who=st.integers(0))
    def the_person_asks_for_someone(self, who: int) -> None:
        chat = self.chat_in(who, SessionState.BOT)
        # Asked again after hearing nobody is free means "I'll wait": then they queue.
        for _ in range(2):
            self.run(self.runtime.bot_turn(chat.id, AskCounsellor()))

    @precondition(lambda self: self.sessions)
    @rule(who=st.integers(0))
    def the_persons_widget_is_still_there(self, who: int) -> None:
        self.run(mark_present(self.svc, session_ids=[self.pick(self.sessions, who)], staff_ids=[]))

    @precondition(lambda self: self.sessions)
    @rule(who=st.integers(0))
    def the_person_leaves(self, who: int) -> None:
        self.run(leave_session(self.svc, session_id=self.pick(self.sessions, who)))

    # --- the counsellors ----------------------------------------------------

    @precondition(lambda self: self.sessions)
    @rule(who=st.integers(0), a=st.integers(0), b=st.integers(0))
    def two_counsellors_claim_at_once(self, who: int, a: int, b: int) -> None:
        session_id = self.chat_in(who, SessionState.QUEUED).id
        first, second = self.pick(self.staff, a), self.pick(self.staff, b)

        async def race() -> list[Any]:
            return list(
                await asyncio.gather(
                    claim_session(self.svc, session_id=session_id, staff_id=first.id),
                    claim_session(self.svc, session_id=session_id, staff_id=second.id),
                )
            )

        assert sum(result.won for result in self.run(race())) <= 1

    @rule(by=st.integers(0))
    def a_counsellor_takes_the_next(self, by: int) -> None:
        self.run(take_next(self.svc, staff_id=self.pick(self.staff, by).id))

    @precondition(lambda self: self.sessions)
    @rule(who=st.integers(0), as_owner=st.booleans(), by=st.integers(0))
    def a_counsellor_releases(self, who: int, as_owner: bool, by: int) -> None:
        chat = self.chat_in(who, SessionState.LIVE)
        staff = self.actor(chat, as_owner, by)
        self.run(release_session(self.svc, session_id=chat.id, staff_id=staff.id))

    @precondition(lambda self: self.sessions)
    @rule(who=st.integers(0), as_owner=st.booleans(), by=st.integers(0), to=st.integers(0))
    def a_counsellor_transfers(self, who: int, as_owner: bool, by: int, to: int) -> None:
        """An offer, accepted by the colleague at once (an offer alone changes no state)."""
        chat = self.chat_in(who, SessionState.LIVE)
        colleague = self.pick(self.staff, to)
        self.run(
            offer_transfer(
                self.svc,
                session_id=chat.id,
                from_staff=self.actor(chat, as_owner, by),
                to_staff_id=colleague.id,
                note="handover",
            )
        )
        self.run(accept_transfer(self.svc, session_id=chat.id, staff=colleague))

    @precondition(lambda self: self.sessions)
    @rule(who=st.integers(0), as_owner=st.booleans(), by=st.integers(0))
    def a_counsellor_hands_back_to_the_bot(self, who: int, as_owner: bool, by: int) -> None:
        chat = self.chat_in(who, SessionState.LIVE)
        staff = self.actor(chat, as_owner, by)
        turn = self.run(hand_back_to_bot(self.svc, session_id=chat.id, staff=staff))
        if turn is not None:
            self.run(self._deliver(turn))

    @precondition(lambda self: self.sessions)
    @rule(who=st.integers(0), as_owner=st.booleans(), by=st.integers(0))
    def a_counsellor_ends_with_a_wrap_up(self, who: int, as_owner: bool, by: int) -> None:
        chat = self.chat_in(who, SessionState.LIVE, SessionState.CLOSED)
        wrap_up = check_wrapup(
            self.svc, outcomes=self.settings.wrapup_outcomes[:1], risk_level="low", notes=""
        )
        staff = self.actor(chat, as_owner, by)
        self.run(end_session(self.svc, session_id=chat.id, staff_id=staff.id, wrap_up=wrap_up))

    @rule(by=st.integers(0))
    def a_workspace_is_still_open(self, by: int) -> None:
        self.run(set_presence(self.svc, staff_id=self.pick(self.staff, by).id))

    # --- time and machines --------------------------------------------------

    @rule(seconds=st.sampled_from(STEPS_S))
    def time_passes_and_timers_fire(self, seconds: int) -> None:
        self.clock.advance(seconds)
        self.run(fire_due_timers(self.runtime))

    @rule()
    def every_process_restarts(self) -> None:
        self.run(self._shutdown())
        self.runtime = self._boot()

    # --- what must always hold ----------------------------------------------

    @invariant()
    def every_session_is_valid_gap_free_and_has_one_owner_at_most(self) -> None:
        self.run(self._check())

    async def _check(self) -> None:
        async with self.svc.read() as session:
            chats = list((await session.execute(select(ChatSession))).scalars())
            seqs: dict[int, list[int]] = {}
            for session_id, seq in (
                await session.execute(select(Message.session_id, Message.seq))
            ).all():
                seqs.setdefault(session_id, []).append(seq)
            bot_lines = dict(
                (
                    await session.execute(
                        select(Message.session_id, func.count())
                        .where(Message.sender == "bot")
                        .group_by(Message.session_id)
                    )
                ).all()
            )
        roles = {s.id: s.role for s in self.staff}
        holding: Counter[int] = Counter()
        for chat in chats:
            state = SessionState(chat.state)
            assert sorted(seqs.get(chat.id, [])) == list(range(1, chat.last_seq + 1))
            if state == SessionState.LIVE:
                assert chat.counsellor_id is not None
                holding[chat.counsellor_id] += 1
            elif state in (SessionState.QUEUED, SessionState.BOT):
                assert chat.counsellor_id is None
            if state == SessionState.QUEUED:
                assert chat.queued_at is not None
            if state.finished:
                assert chat.closed_at is not None
            before = self.seen.get(chat.id)
            said = int(bot_lines.get(chat.id, 0))
            if before and before[0] in ("queued", "live") and state != SessionState.BOT:
                assert said == before[1], f"the bot spoke in a {before[0]} session"
            self.seen[chat.id] = (chat.state, said)
        for staff_id, count in holding.items():
            if roles[staff_id] == "counsellor":
                assert count <= self.settings.counsellor_max_chats


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_any_sequence_of_actions_keeps_sessions_valid(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_quick_setup(monkeypatch)
    template: Path | str = request.getfixturevalue(
        "sqlite_template" if kind == "sqlite" else "pg_template"
    )
    run_state_machine_as_test(
        lambda: Lifecycle(template, tmp_path),
        settings=settings(
            max_examples=20,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
