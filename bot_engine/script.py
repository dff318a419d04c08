"""The shape of a bot script once its files are read: nodes, rules and translations.

A *node* is one point in the conversation: the bot says its replies, offers its
choices (quick replies), and waits. What the person sends next is matched against the
node's rules; each rule names the next node. The English script defines every node;
a translation only gives other words for the same nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from bot_engine.types import Priority

Ending: TypeAlias = Literal["keep", "erase"]

# Nodes the engine itself needs, named in the script's [script] table.
SPECIAL_NODES: tuple[str, ...] = (
    "start",  # a new session: the greeting that asks for consent
    "consent",  # shown when a node needs consent the person has not given yet
    "crisis",  # the safe-messaging reply to a crisis message
    "fallback",  # nothing matched: a gentle reply that keeps the chat open
    "checkin",  # the person has been quiet for a while
    "returned",  # a counsellor handed the person back to the bot
    "counsellor_available",  # asked for a person, and someone may be free
    "counsellor_unavailable",  # asked for a person, nobody is free right now
    "service_closed",  # asked for a person while the service is closed
    "queue_anyway",  # asked again after hearing nobody is free: join the queue anyway
)
# The crisis reply that fits the danger (docs/safeguarding.md, "Replies"). Each is
# optional: a script without it gives the ``crisis`` reply instead.
CRISIS_SPECIALS: tuple[str, ...] = (
    "crisis_imminent",  # has acted or is about to: emergency services first
    "crisis_abuse",  # in danger from another person: safety routes
    "crisis_someone_else",  # worried about somebody else: how to help them
    "crisis_self_harm",  # self-harm: first aid, NHS 111, A&E when serious
)
# Where a ``route = "crisis_counsellor"`` node leads, by the service's state: what the
# crisis reply says about a counsellor, so that it never promises one who is not there.
CRISIS_COUNSELLOR_SPECIALS: tuple[str, ...] = (
    "crisis_free",  # open, and a counsellor can take the chat
    "crisis_busy",  # open, counsellors on duty, all of them busy
    "crisis_closed",  # closed, or nobody on duty
)
# Notices the gateway shows when a chat ends some other way than a bot node.
ENDING_SPECIALS: tuple[str, ...] = (
    "ended_by_counsellor",  # the counsellor ended the chat
    "person_left",  # the person ended the chat (End chat, Quick exit)
    "timed_out",  # the person was away too long while waiting
)
OPTIONAL_SPECIAL_NODES: tuple[str, ...] = (
    "unknown_command",
    *CRISIS_SPECIALS,
    *CRISIS_COUNSELLOR_SPECIALS,
    "crisis_before_consent",  # added to a crisis reply before consent: the chat is kept
    "counsellor_consent",  # a request for a person before consent: ask first, in one step
    "denied",  # a clear denial ("I'm not suicidal") with nothing else of concern
    *ENDING_SPECIALS,
)
# Specials the engine may show before the person has agreed to continue.
PRE_CONSENT_SPECIALS: tuple[str, ...] = (
    "start",
    "consent",
    "crisis",
    *CRISIS_SPECIALS,
    *CRISIS_COUNSELLOR_SPECIALS,
    "crisis_before_consent",
    "counsellor_consent",
    "denied",
    "counsellor_available",
    "counsellor_unavailable",
    "service_closed",
    "queue_anyway",
)
ROUTES: tuple[str, ...] = ("counsellor", "crisis_counsellor")
Route: TypeAlias = Literal["counsellor", "crisis_counsellor"]
BUILTIN_VARIABLES: tuple[str, ...] = ("resource_list",)


@dataclass(frozen=True, slots=True)
class Choice:
    """A quick reply: the button text, the value it sends, and the node it leads to."""

    label: str
    value: str
    next: str


@dataclass(frozen=True, slots=True)
class Rule:
    """Typed words (``keywords``) or a regular expression leading to ``next``."""

    next: str
    keywords: tuple[str, ...] = ()
    regex: str | None = None
    where: str = ""


@dataclass(frozen=True, slots=True)
class Node:
    """One point in the conversation."""

    id: str
    replies: tuple[str, ...] = ()
    choices: tuple[Choice, ...] = ()
    rules: tuple[Rule, ...] = ()
    then: str | None = None
    fallback: str | None = None
    free_text: bool = False
    before_consent: bool = False
    consent: bool = False
    mood: str | None = None
    escalate: Priority | None = None
    end: Ending | None = None
    route: Route | None = None
    shared_rules: bool = True

    @property
    def targets(self) -> list[tuple[str, str]]:
        """Every node this node can lead to, with the key that names it."""
        found = [(f"choices[{i}].next", c.next) for i, c in enumerate(self.choices)]
        found += [(f"{r.where}.next", r.next) for r in self.rules]
        if self.then:
            found.append(("then", self.then))
        if self.fallback:
            found.append(("fallback", self.fallback))
        return found


@dataclass(frozen=True, slots=True)
class Translation:
    """Another locale's words for the English nodes."""

    locale: str
    file: str
    replies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    rules: dict[str, tuple[Rule, ...]] = field(default_factory=dict)
    shared_rules: tuple[Rule, ...] = ()
    commands: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resource:
    """One entry of the resource directory (a helpline, a website, a service)."""

    name: str
    contact: str
    about: str = ""


@dataclass(frozen=True, slots=True)
class Contact:
    """A number people can tap to call or to text, declared once in a resources file.

    ``number`` is the number as replies show it, usually a variable such as
    ``{helpline_samaritans}``. ``call`` is the label of its ``tel:`` link, ``text`` the
    label of its ``sms:`` link (either or both), and ``body`` what a text message to it
    starts with (``SHOUT``).
    """

    number: str
    call: str | None = None
    text: str | None = None
    body: str | None = None
    where: str = ""


@dataclass(frozen=True, slots=True)
class Resources:
    """Helpline numbers and other values a locale's text can use as ``{variables}``."""

    file: str
    variables: dict[str, str] = field(default_factory=dict)
    directory: tuple[Resource, ...] = ()
    contacts: tuple[Contact, ...] = ()


@dataclass(frozen=True, slots=True)
class Script:
    """A whole script set: the English nodes plus translations and resources."""

    file: str
    name: str
    specials: dict[str, str]
    nodes: dict[str, Node]
    shared_rules: tuple[Rule, ...] = ()
    commands: dict[str, str] = field(default_factory=dict)
    translations: dict[str, Translation] = field(default_factory=dict)
    resources: dict[str, Resources] = field(default_factory=dict)

    @property
    def locales(self) -> tuple[str, ...]:
        return ("en", *sorted(self.translations))

    def special(self, name: str) -> str:
        """The node id for a special role, such as ``crisis``."""
        return self.specials.get(name) or self.specials["fallback"]

    def first_special(self, *names: str) -> str | None:
        """The node of the first of ``names`` this script defines, if any."""
        return next((self.specials[n] for n in names if n in self.specials), None)
