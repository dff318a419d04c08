"""Every line of the shared trigger cases, checked through ``detect`` and through the
engine: at the very first message of a session and in the middle of a chat."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot_engine import (
    BotEngine,
    Escalate,
    Priority,
    SessionEvent,
    StepResult,
    UserMessage,
    detect,
)
from tests.bot_engine.support import DATA, NOW


def _cases(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [(row["label"], row["text"]) for row in rows]


CASES = _cases(DATA / "trigger_cases.tsv")
EXPECTED = {"crisis": Priority.CRISIS, "request": Priority.REQUESTED, "none": None}


def test_the_cases_file_is_complete() -> None:
    labels = [label for label, _ in CASES]
    assert len(CASES) >= 45
    assert set(labels) == {"crisis", "request", "none"}


def _escalation(result: StepResult) -> Escalate | None:
    found = [o for o in result.outputs if isinstance(o, Escalate)]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.mark.parametrize(("label", "text"), CASES, ids=[t[:40] for _, t in CASES])
def test_detect(label: str, text: str) -> None:
    match = detect(text)
    if label == "none":
        assert match is None
    else:
        assert match is not None
        assert match.kind == label
        assert match.priority == EXPECTED[label]
        assert match.rule.startswith(f"{label}:")
        assert match.matched


@pytest.mark.parametrize(("label", "text"), CASES, ids=[t[:40] for _, t in CASES])
def test_first_message_of_a_session(engine: BotEngine, label: str, text: str) -> None:
    started = engine.step(engine.new_state("en"), SessionEvent("started"), NOW)
    result = engine.step(started.state, UserMessage(text), NOW)
    if label == "request":
        # Before consent, a request for a person asks for it in one short step first.
        assert _escalation(result) is None and result.state.node == "counsellor_consent"
        result = engine.step(result.state, UserMessage("Yes, find a counsellor", "yes"), NOW)
    escalation = _escalation(result)
    if label == "none":
        assert escalation is None
        assert result.state.phase == "bot"
    else:
        assert escalation is not None
        assert escalation.priority == EXPECTED[label]
        assert result.state.phase == "escalated"


@pytest.mark.parametrize(("label", "text"), CASES, ids=[t[:40] for _, t in CASES])
def test_in_the_middle_of_a_chat(engine: BotEngine, label: str, text: str) -> None:
    state = engine.step(engine.new_state("en"), SessionEvent("started"), NOW).state
    state = engine.step(state, UserMessage("Yes, continue", "yes"), NOW).state
    state = engine.step(state, UserMessage("Sad", "sad"), NOW).state
    result = engine.step(state, UserMessage(text), NOW)
    escalation = _escalation(result)
    expected = EXPECTED[label]
    assert (escalation.priority if escalation else None) == expected
    if label == "crisis":
        assert escalation is not None
        texts = " ".join(o.text for o in result.outputs if hasattr(o, "text"))
        assert "116 123" in texts
        assert "999" in texts
