"""The data that goes into and comes out of the bot engine.

A leaf module: it imports nothing from the rest of the project, so the gateway, the
command line tools and the tests can all share these shapes without import cycles.

Inputs are *events* (something happened in the conversation) plus a *context* (facts
about the service right now, such as how many counsellors are free). Outputs are plain
data the gateway acts on, in the order it should act on them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias


class Priority(enum.StrEnum):
    """How urgently a person should be seen by a counsellor."""

    CRISIS = "crisis"
    REQUESTED = "requested"


TriggerKind: TypeAlias = Literal["crisis", "request"]


class RiskLevel(enum.StrEnum):
    """How close a person in crisis is to harm (docs/safeguarding.md, "Levels").

    ``imminent``: has already acted or is about to, or is in danger from another person
    now. ``high``: intent, a plan, a method or the means, goodbye behaviour, a past
    attempt with present intent. ``concern``: thoughts of death or suicide without a
    plan, self-harm urges or recent self-harm. ``none``: nothing of the kind.
    """

    NONE = "none"
    CONCERN = "concern"
    HIGH = "high"
    IMMINENT = "imminent"

    @property
    def rank(self) -> int:
        """0 for ``none`` up to 3 for ``imminent``: compare levels with this."""
        return _RISK_RANK[self]

    @property
    def of_crisis(self) -> RiskLevel:
        """The level a crisis is queued at: a crisis nobody gave a level is ``high``."""
        return RiskLevel.HIGH if self is RiskLevel.NONE else self

    @classmethod
    def parse(cls, value: object) -> RiskLevel:
        """A stored or configured level; anything unknown reads as ``none``."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.NONE


_RISK_RANK = {RiskLevel.NONE: 0, RiskLevel.CONCERN: 1, RiskLevel.HIGH: 2, RiskLevel.IMMINENT: 3}


class RiskTopic(enum.StrEnum):
    """What the danger is, which decides the safety advice the bot gives.

    ``suicide`` and ``self_harm`` are about the writer; ``abuse`` is danger from another
    person; ``someone_else`` is a writer worried about somebody else.
    """

    SUICIDE = "suicide"
    SELF_HARM = "self_harm"
    ABUSE = "abuse"
    SOMEONE_ELSE = "someone_else"


@dataclass(frozen=True, slots=True)
class TriggerMatch:
    """What the trigger detector found in a message.

    ``rule`` is the id of the rule that matched (for example ``crisis:method:overdose``);
    ``matched`` is the piece of the message that matched it, in the person's own words
    (as they typed it, not the normalised form), so that a counsellor can see at a
    glance why the session was raised. A crisis match has a ``level`` and a ``topic``;
    a request has level ``none``.
    """

    kind: TriggerKind
    priority: Priority
    rule: str
    matched: str
    level: RiskLevel = RiskLevel.NONE
    topic: RiskTopic | None = None


# ---------------------------------------------------------------- events (inputs)


@dataclass(frozen=True, slots=True)
class UserMessage:
    """The person typed ``text``; ``value`` is set when they pressed a quick reply."""

    text: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class AskCounsellor:
    """The person pressed "Talk to a person" (the ``ask_counsellor`` frame)."""


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer the engine asked for earlier (with ``ScheduleCheckin``) has fired."""

    kind: Literal["checkin"] = "checkin"


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """``started``: a new session, the bot greets. ``returned``: a counsellor handed
    the person back to the bot."""

    kind: Literal["started", "returned"]


Event: TypeAlias = UserMessage | AskCounsellor | TimerFired | SessionEvent


@dataclass(frozen=True, slots=True)
class Context:
    """Facts about the service at the moment of the step, supplied by the gateway.

    ``counsellors_available`` is how many counsellors are on duty (signed in and
    available), ``None`` when the gateway does not know; the bot then assumes someone
    may be free. ``free_places`` is how many more chats those counsellors can take now,
    less the people already waiting ahead; ``None`` when not known. When the service is
    closed, nobody is on duty or everyone is busy, a person who asks for a human, or is
    in crisis, is told so plainly and offered alternatives: never a false promise.
    """

    counsellors_available: int | None = None
    service_open: bool = True
    free_places: int | None = None

    @property
    def counsellor_free(self) -> bool:
        """Whether a person asking for a counsellor may be seen soon."""
        free = self.counsellors_available is None or self.counsellors_available > 0
        room = self.free_places is None or self.free_places > 0
        return self.service_open and free and room

    @property
    def nobody_on_duty(self) -> bool:
        """Closed, or nobody on duty: no counsellor can come until someone signs in."""
        return not self.service_open or self.counsellors_available == 0


# ---------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class QuickReply:
    """A button under a bot message: ``label`` is shown, ``value`` is sent back."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Reply:
    """A bot message. The gateway shows "typing" for ``typing_delay_s`` first.

    ``invites_text`` is true when the message asks the person to write in their own
    words; every reply that ends a turn has quick replies, invites text, or is
    followed by ``End``, so the person never meets a dead end.
    """

    text: str
    quick_replies: tuple[QuickReply, ...] = ()
    typing_delay_s: float = 0.0
    invites_text: bool = False


@dataclass(frozen=True, slots=True)
class Escalate:
    """Put the session in the counsellor queue with ``priority``.

    ``reason`` is a rule id such as ``crisis:method:overdose``, ``request:typed``,
    ``request:button`` or ``request:command``; ``matched`` is what triggered it. A crisis
    carries its ``level`` and ``topic``; a later, stronger crisis raises a waiting
    session's level, and nothing lowers it.
    """

    priority: Priority
    reason: str
    matched: str
    level: RiskLevel = RiskLevel.NONE
    topic: RiskTopic | None = None


@dataclass(frozen=True, slots=True)
class ScheduleCheckin:
    """Fire ``TimerFired("checkin")`` at ``at``; replaces any earlier check-in."""

    at: datetime


@dataclass(frozen=True, slots=True)
class End:
    """The bot ends the session; with ``erase`` the gateway deletes the messages."""

    erase: bool


Output: TypeAlias = Reply | Escalate | ScheduleCheckin | End


@dataclass(frozen=True, slots=True)
class Via:
    """How the person reached a node, used to explain an escalation.

    ``how`` is ``typed``, ``button`` or ``command``; ``matched`` is the text typed, the
    pressed button's label (``ask_counsellor`` for the widget's own "Talk to a
    person") or the command that led there.
    """

    how: Literal["typed", "button", "command"]
    matched: str = ""
