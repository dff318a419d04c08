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
OPTIONAL_SPECIAL_NODES: tuple[str, ...] = ("unknown_command",)
# Specials the engine may show before the person has agreed to continue.
PRE_CONSENT_SPECIALS: tuple[str, ...] = (
    "start",
    "consent",
    "crisis",
    "counsellor_available",
    "counsellor_unavailable",
    "service_closed",
    "queue_anyway",
)
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
    route: Literal["counsellor"] | None = None
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
class Resources:
    """Helpline numbers and other values a locale's text can use as ``{variables}``."""

    file: str
    variables: dict[str, str] = field(default_factory=dict)
    directory: tuple[Resource, ...] = ()


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
