"""The bot greets in the charity's name, given by the service, in every locale."""

from __future__ import annotations

import pytest

from bot_engine import BotEngine, EngineConfig, Reply, SessionEvent, TypingSpeed
from tests.bot_engine.support import NOW

NAMED = EngineConfig(typing=TypingSpeed.instant(), service_name="Harbour Lane Listening")


def greeting(engine: BotEngine, locale: str) -> str:
    result = engine.step(engine.new_state(locale), SessionEvent("started"), NOW)
    return " ".join(o.text for o in result.outputs if isinstance(o, Reply))


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("en", "Hi, and welcome to Harbour Lane Listening."),
        ("cy", "Helo, a chroeso i Harbour Lane Listening."),
    ],
)
def test_greeting_uses_the_service_name(locale: str, words: str) -> None:
    engine = BotEngine.load(config=NAMED)
    text = greeting(engine, locale)
    assert text.startswith(words)
    assert "Haven" not in text
    assert "{service_name}" not in text


def test_without_a_name_the_scripts_own_value_stays() -> None:
    engine = BotEngine.load(config=EngineConfig(typing=TypingSpeed.instant()))
    assert greeting(engine, "en").startswith("Hi, and welcome to Haven.")


def test_an_empty_name_is_refused() -> None:
    with pytest.raises(ValueError, match="service_name"):
        EngineConfig(service_name="  ")
