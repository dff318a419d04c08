"""What people type to the bot every day is never a crisis.

The words the default script itself listens for (mood answers, "not okay", "bad day",
button labels) and everyday replies ("I don't know", "I'm going to the shops") must
not send anyone the crisis reply: the statistical model once read "I don't know" as a
crisis, so these are checked through the whole detector, model included.
"""

from __future__ import annotations

import tomllib

import pytest

from bot_engine.detection import assess
from bot_engine.files import DEFAULT_SCRIPT_DIR

EVERYDAY = [
    "I don't know",
    "i dont know what to do",
    "not sure really",
    "i'm going to the shops",
    "i'm going to jump in the shower",
    "going to bed now, thanks",
    "i'm going home now",
    "on edge",
    "feel nothing",
    "i'm tired",
    "can't sleep again",
    "i need to go, my bus is here",
    "my nan's poorly",
]


def _script_words() -> list[str]:
    data = tomllib.loads((DEFAULT_SCRIPT_DIR / "en.toml").read_text(encoding="utf-8"))
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "keywords" and isinstance(value, list):
                    found.update(v for v in value if isinstance(v, str))
                elif key == "label" and isinstance(value, str):
                    found.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return sorted(found)


@pytest.mark.parametrize("text", EVERYDAY + _script_words())
def test_everyday_words_are_not_a_crisis(text: str) -> None:
    found = assess(text)
    assert found.crisis is None, (text, found.crisis)
