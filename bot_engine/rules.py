"""Phrases and rules, matched against one normalised reading of a message.

A ``Phrase`` is one phrase of a trigger file: its regular expression (compiled on
first use) and the pieces of text it needs. A ``Reading`` is a message read one way,
with the phrases its words allow worked out once. A ``TriggerRule`` is a group of
phrases with its rule id, level and topic; a ``SafeRule`` marks harmless contexts and
denials. ``triggers.py`` builds them from trigger files and runs them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot_engine.normalise import single_letters
from bot_engine.phrases import compiled_phrase
from bot_engine.types import RiskLevel, RiskTopic, TriggerKind

NEGATION_WINDOW = 3  # words before a request that a negator may sit in

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Phrase:
    """One phrase: its regex source, compiled when first needed, and its anchors.

    ``needs`` are pieces of text one of which must be in the reading (with doubled
    letters made single) for the phrase to match at all; a reading without any of them
    skips the phrase without running its regex. That keeps detection fast however
    long the lists grow, and a trigger set quick to load: phrases compile on first use
    (or all at once with ``TriggerSet.warm``).
    """

    source: str
    needs: tuple[str, ...] = ()

    @property
    def pattern(self) -> re.Pattern[str]:
        return compiled_phrase(self.source)


@dataclass(frozen=True, slots=True)
class Reading:
    """One normalised reading of a message, with what it allows to be tried.

    ``plain`` is the text with doubled letters made single; ``allowed`` holds the
    ``id`` of every phrase whose anchors it contains (``None``: check each phrase).
    """

    text: str
    plain: str
    allowed: frozenset[int] | None = None
    by_rule: dict[str, tuple[Phrase, ...]] | None = None

    @classmethod
    def of(cls, text: str) -> Reading:
        return cls(text, single_letters(text))

    def phrases_of(self, rule: TriggerRule) -> Sequence[Phrase]:
        """The rule's own phrases this reading allows, in the rule's order."""
        if self.by_rule is not None:
            return self.by_rule.get(rule.rule, ())
        return [phrase for phrase in rule.phrases if self.allows(phrase)]

    def allows(self, phrase: Phrase) -> bool:
        if self.allowed is not None:
            return id(phrase) in self.allowed
        return not phrase.needs or any(piece in self.plain for piece in phrase.needs)

    def first(self, phrase: Phrase, outside: Sequence[Span] = ()) -> re.Match[str] | None:
        """The first match of ``phrase`` that overlaps none of ``outside``."""
        if not self.allows(phrase):
            return None
        matches = phrase.pattern.finditer(self.text)
        return next((m for m in matches if not _overlaps(m.span(), outside)), None)

    def spans(self, phrases: Sequence[Phrase]) -> list[Span]:
        found: list[Span] = []
        for phrase in phrases:
            if self.allows(phrase):
                found += [m.span() for m in phrase.pattern.finditer(self.text)]
        return found


@dataclass(frozen=True, slots=True)
class TriggerRule:
    """One group of phrases with its rule id, level and topic.

    ``combos`` are phrases made of parts joined with ``&``: each part must appear
    somewhere in the message.
    """

    kind: TriggerKind
    rule: str
    phrases: tuple[Phrase, ...]
    exclude: tuple[Phrase, ...] = ()
    combos: tuple[tuple[Phrase, ...], ...] = ()
    level: RiskLevel = RiskLevel.NONE
    topic: RiskTopic | None = None
    with_other: RiskLevel | None = None

    def find(
        self,
        reading: Reading | str,
        negators: re.Pattern[str] | None = None,
        safe: Sequence[Span] = (),
        *,
        use_exclude: bool = True,
    ) -> str | None:
        """The first piece of the reading this rule matches, or ``None``.

        A match that overlaps an excluded phrase (unless ``use_exclude`` is false) or
        a ``safe`` span does not count.
        """
        reading = Reading.of(reading) if isinstance(reading, str) else reading
        text = reading.text
        excluded: list[Span] | None = [] if not use_exclude else None
        for phrase in reading.phrases_of(self):
            for match in phrase.pattern.finditer(text):
                span = match.span()
                if excluded is None:
                    excluded = reading.spans(self.exclude)
                if _overlaps(span, excluded) or _overlaps(span, safe):
                    continue
                if self.kind == "request" and negators is not None:
                    before = " ".join(text[: span[0]].split()[-NEGATION_WINDOW:])
                    if negators.search(before):
                        continue
                return match.group(0).strip()
        for parts in self.combos:
            if not all(reading.allows(part) for part in parts):
                continue
            found = [reading.first(part, safe) for part in parts]
            if all(found):
                return " + ".join(m.group(0).strip() for m in found if m)
        return None

    def every_phrase(self) -> list[Phrase]:
        return [p for group in (self.phrases, self.exclude, *self.combos) for p in group]


def _overlaps(span: Span, spans: Sequence[Span]) -> bool:
    return any(start < span[1] and span[0] < end for start, end in spans)


@dataclass(frozen=True, slots=True)
class SafeRule:
    """Phrases that make crisis words inside them harmless (a context or a denial)."""

    rule: str
    phrases: tuple[Phrase, ...]
    unless: tuple[Phrase, ...] = ()

    def spans(self, reading: Reading | str) -> list[Span]:
        reading = Reading.of(reading) if isinstance(reading, str) else reading
        found = reading.spans(self.phrases)
        if found and any(reading.first(phrase) for phrase in self.unless):
            return []
        return found

    def every_phrase(self) -> list[Phrase]:
        return [*self.phrases, *self.unless]
