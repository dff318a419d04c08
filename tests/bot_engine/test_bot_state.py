"""The conversation state survives a trip through JSON, and bad rows are refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot_engine import BotEngine, ConversationState, SessionEvent, UserMessage
from tests.bot_engine.support import NOW

states = st.builds(
    ConversationState,
    locale=st.sampled_from(["en", "cy"]),
    node=st.text(max_size=30),
    consented=st.booleans(),
    mood=st.none() | st.text(max_size=20),
    checkins_sent=st.integers(min_value=0, max_value=10),
    phase=st.sampled_from(["bot", "escalated", "ended"]),
)


@given(states)
def test_json_round_trip(state: ConversationState) -> None:
    data = state.to_json()
    assert json.loads(json.dumps(data)) == data
    assert ConversationState.from_json(json.loads(json.dumps(data))) == state


def test_defaults_for_missing_keys_and_unknown_keys_ignored() -> None:
    state = ConversationState.from_json({"node": "greeting", "future_field": 1})
    assert state == ConversationState(locale="en", node="greeting")
    assert ConversationState.from_json({"locale": ""}).locale == "en"


@pytest.mark.parametrize(
    "data",
    [
        {"locale": 3},
        {"consented": "yes"},
        {"mood": 5},
        {"checkins_sent": -1},
        {"checkins_sent": True},
        {"phase": "queued"},
    ],
)
def test_bad_fields_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="bot state"):
        ConversationState.from_json(data)


def test_not_an_object() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        ConversationState.from_json([])  # type: ignore[arg-type]


def test_resume_after_restart_at_the_same_node(engine: BotEngine) -> None:
    state = engine.step(engine.new_state("en"), SessionEvent("started"), NOW).state
    state = engine.step(state, UserMessage("Yes, continue", "yes"), NOW).state
    state = engine.step(state, UserMessage("Anxious", "anxious"), NOW).state
    stored = json.dumps(state.to_json())
    restored = ConversationState.from_json(json.loads(stored))
    assert restored == state
    result = engine.step(restored, UserMessage("Breathe with me", "breathe"), NOW)
    assert result.state.node == "breathing"
    assert result.state.mood == "anxious"


def test_helplines_come_from_the_locale_directory_with_english_fallback() -> None:
    engine = BotEngine.load(None)
    english = engine.helplines("en")
    assert any(line.startswith("Samaritans: call 116 123") for line in english)
    assert engine.helplines("fr") == english
    assert engine.helplines("cy")
