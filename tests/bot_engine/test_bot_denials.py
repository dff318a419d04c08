"""A clear denial is answered warmly and not queued; doubt or anything else of concern
is still a crisis (issue 9, "Negation that never silences danger")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot_engine import BotEngine, Escalate, Reply, SessionEvent, UserMessage
from bot_engine.detection import assess

NOW = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine() -> BotEngine:
    return BotEngine.load()


def step(engine: BotEngine, text: str, locale: str = "en") -> tuple[tuple[str, ...], list[object]]:
    state = engine.step(engine.new_state(locale), SessionEvent("started"), NOW).state
    result = engine.step(state, UserMessage(text), NOW)
    return result.visited, list(result.outputs)


@pytest.mark.parametrize(
    "text",
    [
        "I'm not suicidal, just really stressed about work",
        "no i would never hurt myself, i just feel flat",
        "im not going to kill myself dont worry",
    ],
)
def test_a_clear_denial_is_acknowledged_and_not_queued(engine: BotEngine, text: str) -> None:
    assert assess(text).denied and assess(text).crisis is None
    visited, outputs = step(engine, text)
    assert visited[-1] == "denied"
    assert not any(isinstance(o, Escalate) for o in outputs)
    replies = [o for o in outputs if isinstance(o, Reply)]
    assert "116 123" in replies[-1].text  # the door stays open, with a number
    assert "counsellor" in {q.value for q in replies[-1].quick_replies}


@pytest.mark.parametrize(
    "text",
    [
        "I'm not sure I won't hurt myself tonight",
        "not suicidal but i've been saving up my pills",
        "i'm not suicidal, i just don't see any reason to keep going",
        "I can't promise I won't kill myself",
    ],
)
def test_doubt_or_other_danger_beside_a_denial_is_still_a_crisis(
    engine: BotEngine, text: str
) -> None:
    assert assess(text).crisis is not None
    _, outputs = step(engine, text)
    assert isinstance(outputs[0], Escalate)


def test_a_denial_with_a_request_for_a_person_is_a_request(engine: BotEngine) -> None:
    visited, outputs = step(engine, "I'm not suicidal but can I talk to a real person please")
    # Before consent, a typed request asks for it in one step, then queues.
    assert visited[-1] == "counsellor_consent"
    assert not any(isinstance(o, Escalate) for o in outputs)


def test_a_welsh_denial_is_answered_in_welsh(engine: BotEngine) -> None:
    visited, outputs = step(engine, "dw i ddim yn meddwl lladd fy hun, jyst wedi blino", "cy")
    assert visited[-1] == "denied"
    assert "Diolch" in next(o for o in outputs if isinstance(o, Reply)).text


@pytest.mark.parametrize(
    "text",
    ["we're doing a suicide prevention walk on saturday", "suicide squad was a rubbish film"],
)
def test_words_a_list_calls_harmless_are_not_handed_to_the_model(text: str) -> None:
    found = assess(text)
    assert found.crisis is None and found.excused
