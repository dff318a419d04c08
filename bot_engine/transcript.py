"""Transcript tests: a conversation written down, replayed against the engine.

A transcript is a text file. Lines starting with ``#`` are comments. Each *event*
line starts a step; the *expectation* lines after it describe what the bot must do::

    # The person agrees and picks a feeling
    ! started
    reply: welcome to Haven
    reply: Is that okay with you?
    buttons: Yes, continue | No thanks
    > [yes] Yes, continue
    node: mood_menu
    checkin: +3600

Events:

- ``> text``: the person types ``text``; ``> [value] text`` presses the quick reply
  with that value (``text`` is what the button shows);
- ``! started``, ``! returned``, ``! checkin`` (the check-in timer fires),
  ``! ask_counsellor`` (the "Talk to a person" button);
- ``! crisis imminent abuse``: a message the detector found to be a crisis of this
  level (``concern``, ``high``, ``imminent``, or ``none``) and topic (``suicide``,
  ``self_harm``, ``abuse``, ``someone_else``, or left out), to try the reply for each
  kind without writing a message that the detector places there.

Settings, which apply from that line on:

- ``@locale cy`` (before the first event), ``@counsellors 0`` (or ``unknown``),
  ``@places 0`` (how many more chats the counsellors on duty can take; ``unknown``),
  ``@open no`` / ``@open yes``, ``@wait 3600`` (move the fake clock on, in seconds).

Expectations:

- ``reply: words``: the next bot message contains these words (any case); there must
  be one ``reply:`` line per message, ``reply: *`` accepts any text;
- ``buttons: A | B``: the quick replies of the last message, exactly; ``buttons: none``;
- ``node: id``, ``mood: word``;
- ``escalate: crisis`` or ``escalate: requested``, optionally followed by the reason
  (for example ``escalate: requested request:typed``); an escalation that is not
  expected is a failure; ``risk: imminent abuse``: the escalation's level and topic;
- ``end: keep`` or ``end: erase``; an unexpected end is a failure;
- ``checkin: +3600`` (a check-in that many seconds from now) or ``checkin: none``;
- ``silent``: the bot sends nothing at all.

Every step is also checked for dead ends: the last message must offer buttons or
invite free text, unless the chat ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot_engine.engine import BotEngine, StepResult
from bot_engine.types import (
    AskCounsellor,
    Context,
    End,
    Escalate,
    Event,
    Priority,
    Reply,
    RiskLevel,
    RiskTopic,
    ScheduleCheckin,
    SessionEvent,
    TimerFired,
    TriggerMatch,
    UserMessage,
)

FAKE_START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
_EXPECT_KEYS = ("reply", "buttons", "node", "mood", "escalate", "risk", "end", "checkin")
_EVENTS: dict[str, Event] = {
    "started": SessionEvent("started"),
    "returned": SessionEvent("returned"),
    "checkin": TimerFired("checkin"),
    "ask_counsellor": AskCounsellor(),
}


class TranscriptError(ValueError):
    """A transcript line that cannot be understood; the message starts ``file:line:``."""


@dataclass(frozen=True, slots=True)
class DetectedCrisis:
    """``! crisis <level> [topic]``: a message the detector took for this crisis."""

    match: TriggerMatch


def _detected_crisis(words: list[str]) -> DetectedCrisis | None:
    levels, topics = {str(v) for v in RiskLevel}, {str(v) for v in RiskTopic}
    if not 1 <= len(words) <= 2 or words[0] not in levels or not set(words[1:]) <= topics:
        return None
    level, topic = RiskLevel(words[0]), RiskTopic(words[1]) if len(words) == 2 else None
    return DetectedCrisis(
        TriggerMatch("crisis", Priority.CRISIS, "crisis:transcript", "", level, topic)
    )


@dataclass(slots=True)
class Step:
    line: int
    event: Event | DetectedCrisis
    context: Context
    wait_s: float = 0.0
    expects: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass(slots=True)
class Transcript:
    name: str
    locale: str = "en"
    steps: list[Step] = field(default_factory=list)


@dataclass(slots=True)
class ReplayResult:
    failures: list[str] = field(default_factory=list)
    visited: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.failures


def parse_transcript(text: str, name: str = "transcript") -> Transcript:
    """Read a transcript; raises TranscriptError at the first line it cannot read."""
    transcript = Transcript(name)
    context, wait = Context(), 0.0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        where = f"{name}:{number}"
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            key, _, arg = line[1:].partition(" ")
            arg = arg.strip()
            if key == "locale" and not transcript.steps and arg:
                transcript.locale = arg
            elif key == "counsellors" and (arg.isdigit() or arg == "unknown"):
                free = int(arg) if arg.isdigit() else None
                context = replace(context, counsellors_available=free)
            elif key == "places" and (arg.lstrip("-").isdigit() or arg == "unknown"):
                places = int(arg) if arg != "unknown" else None
                context = replace(context, free_places=places)
            elif key == "open" and arg in ("yes", "no"):
                context = replace(context, service_open=arg == "yes")
            elif key == "wait" and arg.replace(".", "", 1).isdigit():
                wait += float(arg)
            else:
                raise TranscriptError(f"{where}: unknown setting {line!r}")
        elif line.startswith(">"):
            body, value = line[1:].strip(), None
            if body.startswith("[") and "]" in body:
                value, _, body = body[1:].partition("]")
                body = body.strip()
            transcript.steps.append(Step(number, UserMessage(body, value), context, wait))
            wait = 0.0
        elif line.startswith("!"):
            name, *words = line[1:].split()
            event = _detected_crisis(words) if name == "crisis" else _EVENTS.get(name)
            if event is None or (words and name != "crisis"):
                raise TranscriptError(f"{where}: unknown event {line!r}")
            transcript.steps.append(Step(number, event, context, wait))
            wait = 0.0
        else:
            key, colon, arg = line.partition(":")
            key = key.strip()
            if not transcript.steps:
                raise TranscriptError(f"{where}: expectation before the first event")
            if line == "silent":
                transcript.steps[-1].expects.append((number, "silent", ""))
            elif colon and key in _EXPECT_KEYS:
                problem = _bad_argument(key, arg.strip())
                if problem:
                    raise TranscriptError(f"{where}: {problem}")
                transcript.steps[-1].expects.append((number, key, arg.strip()))
            else:
                raise TranscriptError(f"{where}: cannot read {line!r}")
    return transcript


def _bad_argument(key: str, arg: str) -> str | None:
    if key == "checkin" and arg != "none":
        try:
            float(arg.lstrip("+"))
        except ValueError:
            return f"checkin needs '+seconds' or 'none', not {arg!r}"
    if key == "escalate" and arg.partition(" ")[0] not in ("crisis", "requested"):
        return f"escalate needs 'crisis' or 'requested', not {arg!r}"
    if key == "end" and arg not in ("keep", "erase"):
        return f"end needs 'keep' or 'erase', not {arg!r}"
    if key == "risk" and _detected_crisis(arg.split()) is None:
        return f"risk needs a level and maybe a topic, not {arg!r}"
    return None


def load_transcript(path: Path) -> Transcript:
    return parse_transcript(path.read_text(encoding="utf-8"), path.name)


def replay(engine: BotEngine, transcript: Transcript, start: datetime = FAKE_START) -> ReplayResult:
    """Run every step against ``engine`` with a fake clock and check the expectations."""
    result = ReplayResult()
    state = engine.new_state(transcript.locale)
    now = start
    for step in transcript.steps:
        now += timedelta(seconds=step.wait_s)
        if isinstance(step.event, DetectedCrisis):
            outcome = engine.crisis_step(state, step.event.match, now, step.context)
        else:
            outcome = engine.step(state, step.event, now, step.context)
        result.visited.update(outcome.visited)
        where = f"{transcript.name}:{step.line}"
        result.failures += [f"{where}: {f}" for f in _check(step, outcome, now)]
        state = outcome.state
    return result


def _check(step: Step, outcome: StepResult, now: datetime) -> list[str]:
    failures: list[str] = []
    replies = [o for o in outcome.outputs if isinstance(o, Reply)]
    escalations = [o for o in outcome.outputs if isinstance(o, Escalate)]
    ends = [o for o in outcome.outputs if isinstance(o, End)]
    checkins = [o for o in outcome.outputs if isinstance(o, ScheduleCheckin)]
    kinds = {kind for _, kind, _ in step.expects}
    expected_replies = [arg for _, kind, arg in step.expects if kind == "reply"]
    if "silent" in kinds and outcome.outputs:
        failures.append(f"expected silence, got {len(outcome.outputs)} output(s)")
    if len(expected_replies) != len(replies):
        failures.append(f"expected {len(expected_replies)} message(s), got {len(replies)}")
    for wanted, reply in zip(expected_replies, replies, strict=False):
        if wanted != "*" and wanted.lower() not in reply.text.lower():
            failures.append(f"message {reply.text[:60]!r}... does not contain {wanted!r}")
    if replies and not (replies[-1].quick_replies or replies[-1].invites_text or ends):
        failures.append("dead end: the last message has no buttons and does not invite text")
    if escalations and not kinds & {"escalate", "risk"}:
        failures.append(f"unexpected escalation {escalations[0].reason}")
    if ends and "end" not in kinds:
        failures.append("unexpected end of the chat")
    for _, kind, arg in step.expects:
        failures += _expectation(kind, arg, outcome, replies, escalations, ends, checkins, now)
    return failures


def _expectation(
    kind: str,
    arg: str,
    outcome: StepResult,
    replies: list[Reply],
    escalations: list[Escalate],
    ends: list[End],
    checkins: list[ScheduleCheckin],
    now: datetime,
) -> list[str]:
    if kind == "node" and outcome.state.node != arg:
        return [f"expected node {arg!r}, got {outcome.state.node!r}"]
    if kind == "mood" and (outcome.state.mood or "") != arg:
        return [f"expected mood {arg!r}, got {outcome.state.mood!r}"]
    if kind == "buttons":
        got = [q.label for q in replies[-1].quick_replies] if replies else []
        wanted = [] if arg == "none" else [part.strip() for part in arg.split("|")]
        if got != wanted:
            return [f"expected buttons {wanted}, got {got}"]
    if kind == "escalate":
        priority, _, reason = arg.partition(" ")
        if not escalations:
            return [f"expected an escalation ({arg}), got none"]
        if escalations[0].priority.value != priority or (
            reason and escalations[0].reason != reason.strip()
        ):
            actual = f"{escalations[0].priority.value} {escalations[0].reason}"
            return [f"expected escalation {arg!r}, got {actual!r}"]
    if kind == "risk":
        level, _, topic = arg.partition(" ")
        risk = f"{escalations[0].level} {escalations[0].topic}" if escalations else "none"
        if risk != f"{level} {topic.strip() or None}":
            return [f"expected risk {arg!r}, got {risk!r}"]
    if kind == "end" and (not ends or ends[0].erase != (arg == "erase")):
        return [f"expected end ({arg}), got {ends[0] if ends else 'none'}"]
    if kind == "checkin":
        if arg == "none":
            return [f"expected no check-in, got {checkins[0].at}"] if checkins else []
        seconds = float(arg.lstrip("+"))
        if not checkins or checkins[0].at != now + timedelta(seconds=seconds):
            return [f"expected a check-in at +{seconds:g}s, got {checkins or 'none'}"]
    return []
