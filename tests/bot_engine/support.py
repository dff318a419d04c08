"""Shared test data for the bot engine tests: paths, a fixed clock, a tiny script."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot_engine import EngineConfig, TypingSpeed
from bot_engine.loader import read_script_set
from bot_engine.problems import ProblemLog

DATA = Path(__file__).parent / "data"
TRANSCRIPTS = Path(__file__).parent / "transcripts"
NOW = datetime(2025, 3, 1, 20, 0, tzinfo=UTC)
INSTANT = EngineConfig(typing=TypingSpeed.instant())

# A tiny but complete script: every special node, one mood, one choice each way.
MINI_EN = """
[script]
start = "hello"
consent = "hello"
crisis = "crisis"
fallback = "fallback"
checkin = "checkin"
returned = "menu"
counsellor_available = "coming"
counsellor_unavailable = "busy"
service_closed = "busy"
queue_anyway = "queued"

[commands]
mood = "menu"
counsellor = "person"

[[shared_rules]]
keywords = ["sad"]
next = "sad"

[[node]]
id = "hello"
before_consent = true
replies = ["Hello. Keep this chat? {phone}"]
choices = [
  { label = "Yes", value = "yes", next = "agreed" },
  { label = "No", value = "no", next = "bye" },
]

[[node]]
id = "agreed"
consent = true
then = "menu"
replies = ["Thanks."]

[[node]]
id = "menu"
free_text = true
replies = ["How do you feel?"]
choices = [
  { label = "Sad", value = "sad", next = "sad" },
  { label = "Person", value = "person", next = "person" },
]

[[node]]
id = "sad"
mood = "sad"
replies = ["Sorry you feel sad.", "Try writing it down."]
choices = [{ label = "Back", value = "back", next = "menu" }]

[[node]]
id = "person"
route = "counsellor"

[[node]]
id = "coming"
before_consent = true
escalate = "requested"
free_text = true
replies = ["Finding someone."]

[[node]]
id = "busy"
before_consent = true
replies = ["Nobody is free."]
choices = [
  { label = "Wait", value = "wait", next = "queued" },
  { label = "Back", value = "back", next = "menu" },
]

[[node]]
id = "queued"
before_consent = true
escalate = "requested"
free_text = true
replies = ["You are in the queue."]

[[node]]
id = "crisis"
before_consent = true
free_text = true
replies = ["I'm glad you told me. Call {phone}."]

[[node]]
id = "checkin"
free_text = true
replies = ["Still there?"]

[[node]]
id = "fallback"
free_text = true
replies = ["Tell me more."]

[[node]]
id = "bye"
before_consent = true
end = "erase"
replies = ["Goodbye."]
"""

MINI_RESOURCES = """
[variables]
phone = "116 123"

[[directory]]
name = "Samaritans"
contact = "call {phone}"
"""


def problems_of(directory: Path, resources: Path | None = None) -> list[str]:
    log = ProblemLog()
    read_script_set(directory, log, resources)
    return [str(p) for p in log.items]
