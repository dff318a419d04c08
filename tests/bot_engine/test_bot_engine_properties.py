"""Property tests over whole conversations: whatever a person sends, in any order,
the bot never crashes, never leaves a dead end, never skips consent, and keeps its
promises about escalations and check-ins."""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot_engine import (
    AskCounsellor,
    BotEngine,
    Context,
    ConversationState,
    End,
    Escalate,
    Event,
    Reply,
    ScheduleCheckin,
    SessionEvent,
    TimerFired,
    UserMessage,
)
from tests.bot_engine.support import INSTANT, NOW

ENGINE = BotEngine.load(config=INSTANT)
VALUES = sorted({c.value for n in ENGINE.script.nodes.values() for c in n.choices})
TEXTS = [
    "hi", "yes", "no", "sad", "I feel anxious", "thanks", "!mood", "!help", "!stop",
    "!counsellor", "!resources", "talk to a person", "bye", "what?", "I want to die",
    "ydw", "trist", "helo", "wait", "keep talking", "",
]  # fmt: skip

events = st.one_of(
    st.builds(UserMessage, st.sampled_from(TEXTS) | st.text(max_size=40), st.none()),
    st.builds(UserMessage, st.sampled_from(TEXTS), st.sampled_from(VALUES)),
    st.just(AskCounsellor()),
    st.just(TimerFired()),
    st.sampled_from([SessionEvent("started"), SessionEvent("returned")]),
)
contexts = st.builds(
    Context,
    counsellors_available=st.none() | st.integers(min_value=0, max_value=3),
    service_open=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["en", "cy"]),
    st.lists(st.tuples(events, contexts), min_size=1, max_size=25),
)
def test_conversations_keep_their_promises(
    locale: str, script: list[tuple[Event, Context]]
) -> None:
    state = ENGINE.new_state(locale)
    state = ENGINE.step(state, SessionEvent("started"), NOW).state
    now = NOW
    agreed = False
    for event, context in script:
        now += timedelta(minutes=30)
        before = state
        result = ENGINE.step(state, event, now, context)
        outputs = result.outputs
        replies = [o for o in outputs if isinstance(o, Reply)]
        ends = [o for o in outputs if isinstance(o, End)]
        escalations = [o for o in outputs if isinstance(o, Escalate)]
        checkins = [o for o in outputs if isinstance(o, ScheduleCheckin)]
        if replies:
            last = replies[-1]
            assert last.quick_replies or last.invites_text or ends
        assert len(escalations) <= 1 and len(ends) <= 1 and len(checkins) <= 1
        if escalations:
            assert outputs[0] == escalations[0]
            assert result.state.phase == "escalated"
            assert not checkins
        if ends:
            assert outputs[-1] == ends[0]
            assert result.state.phase == "ended"
            assert not checkins
        if checkins:
            assert result.state.consented
            assert result.state.checkins_sent < INSTANT.max_checkins
        if before.phase != "bot" and not (
            isinstance(event, SessionEvent) and before.phase == "escalated"
        ):
            assert outputs == () or isinstance(event, SessionEvent)
        agreed = agreed or any(ENGINE.script.nodes[n].consent for n in result.visited)
        assert result.state.consented == agreed
        assert result.state.locale in ENGINE.locales
        assert result.state.node in ENGINE.script.nodes
        assert ConversationState.from_json(json.loads(json.dumps(result.state.to_json()))) == (
            result.state
        )
        state = result.state
