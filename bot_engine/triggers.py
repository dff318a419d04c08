"""Crisis and request-for-a-person detection from curated, data-driven phrase lists.

A trigger file (TOML) has:

- ``[settings]``: ``big_number_from`` (what counts as a big number of tablets),
  ``fuzzy`` (long words that also match with a small typo, "sucide"), ``keep`` (real
  words that must never be treated as a typo of a fuzzy word, "overdone"), and
  ``negators`` (words that cancel a *request* just before it, "don't");
- ``[rewrite]``: text-speak and contractions to plain words ("wanna" = "want to");
- ``[words]``: named word lists used in phrases as ``{name}``;
- ``[[crisis]]`` and ``[[request]]`` groups: a ``rule`` id and ``phrases`` (see
  ``phrases.py``; ``a & b`` means both anywhere in the message); a group may list
  ``exclude`` phrases for a different, harmless meaning of the same words ("5 kms",
  "die laughing"): a match that overlaps an excluded phrase does not count.

Negation never silences a crisis phrase: "I don't want to live" and "I'm not sure I
won't hurt myself" are crises. Crisis always wins over a request.

Small spelling slips and swapped letters in a few important long words are caught by
``FuzzyWords``: only words listed under ``fuzzy`` are corrected, and only when the
typed word starts with the same letter and is close enough (one slip for words of six
to eight letters such as "sucide" or "myslef", two for longer words such as
"paracetomol"). Short words are never corrected, because too many ordinary words sit
one letter apart ("nose" and "noose"); words listed under ``keep`` stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot_engine.normalise import Normaliser, bounded, fold, squeeze
from bot_engine.phrases import PhraseError, compile_sources, phrase_pattern, valid_list_name
from bot_engine.problems import Fields, ProblemLog
from bot_engine.types import Priority, TriggerKind, TriggerMatch

_RULE_ID = re.compile(r"^[a-z0-9_]+(:[a-z0-9_]+)*$")
_TOP_KEYS = ("settings", "rewrite", "words", "crisis", "request")
_SETTINGS_KEYS = ("big_number_from", "fuzzy", "keep", "negators")
_NEGATION_WINDOW = 3  # words before a request that a negator may sit in


# ---------------------------------------------------------------- typo tolerance

_MIN_WORD = 6  # shortest fuzzy word: below this, slips collide with real words
_MIN_TYPED = 5  # shortest typed word that may be corrected
_LONG_WORD = 9  # words this long may have two slips


def distance(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, replace, swap two neighbours) from ``a`` to ``b``.

    Stops early and returns ``limit + 1`` once the answer is known to exceed ``limit``.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, previous_previous[j - 2] + 1)
            current[j] = best
        if min(current) > limit:
            return limit + 1
        previous_previous, previous = previous, current
    return previous[-1]


class FuzzyWords:
    """Corrects typed words that are a small slip away from a listed word."""

    def __init__(self, words: Iterable[str], keep: Iterable[str] = ()) -> None:
        normal = {squeeze(fold(word)) for word in words}
        self._words = sorted(w for w in normal if w.isalpha() and len(w) >= _MIN_WORD)
        self._exact = set(self._words)
        self._keep = {squeeze(fold(word)) for word in keep}
        self._cache: dict[str, str] = {}

    def closest(self, typed: str) -> str:
        """The listed word ``typed`` is a slip of, or ``typed`` itself."""
        if (
            len(typed) < _MIN_TYPED
            or not typed.isalpha()
            or typed in self._exact
            or typed in self._keep
        ):
            return typed
        cached = self._cache.get(typed)
        if cached is not None:
            return cached
        best, best_distance = typed, 3
        for word in self._words:
            if word[0] != typed[0]:
                continue
            limit = 2 if len(word) >= _LONG_WORD else 1
            found = distance(typed, word, limit)
            if found <= limit and found < best_distance:
                best, best_distance = word, found
        if len(self._cache) < 10_000:
            self._cache[typed] = best
        return best

    def correct(self, text: str) -> str:
        """``text`` with each word replaced by the listed word it is a slip of."""
        return " ".join(self.closest(token) for token in text.split())


# ---------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class TriggerRule:
    """One compiled group of phrases with its rule id.

    ``combos`` are phrases made of parts joined with ``&``: each part must appear
    somewhere in the message.
    """

    kind: TriggerKind
    rule: str
    pattern: re.Pattern[str] | None
    exclude: re.Pattern[str] | None = None
    combos: tuple[tuple[re.Pattern[str], ...], ...] = ()

    def find(self, text: str, negators: re.Pattern[str] | None) -> str | None:
        for match in self.pattern.finditer(text) if self.pattern else ():
            start, end = match.span()
            if self.exclude and any(
                e.start() < end and start < e.end() for e in self.exclude.finditer(text)
            ):
                continue
            if self.kind == "request" and negators is not None:
                before = " ".join(text[:start].split()[-_NEGATION_WINDOW:])
                if negators.search(before):
                    continue
            return match.group(0).strip()
        for parts in self.combos:
            found = [part.search(text) for part in parts]
            if all(found):
                return " + ".join(m.group(0).strip() for m in found if m)
        return None


@dataclass(frozen=True, slots=True)
class TriggerSource:
    """The parsed, not yet compiled content of one trigger file."""

    file: str
    data: dict[str, object]


class TriggerSet:
    """Every trigger rule for one locale, ready to match."""

    def __init__(
        self,
        rules: Sequence[TriggerRule],
        normaliser: Normaliser,
        fuzzy: FuzzyWords,
        negators: re.Pattern[str] | None,
    ) -> None:
        self.rules = tuple(rules)
        self.normaliser = normaliser
        self._fuzzy = fuzzy
        self._negators = negators

    def readings(self, text: str) -> list[str]:
        """Every normalised reading of ``text`` that the rules are tried against."""
        result: list[str] = []
        for variant in self.normaliser.variants(text):
            for reading in (variant, self._fuzzy.correct(variant)):
                if reading not in result:
                    result.append(reading)
        return result

    def detect(self, text: str) -> TriggerMatch | None:
        readings = self.readings(text)
        for kind in ("crisis", "request"):
            for rule in self.rules:
                if rule.kind != kind:
                    continue
                for reading in readings:
                    found = rule.find(reading, self._negators)
                    if found is not None:
                        priority = Priority.CRISIS if kind == "crisis" else Priority.REQUESTED
                        return TriggerMatch(rule.kind, priority, rule.rule, found)
        return None

    @classmethod
    def build(cls, sources: Sequence[TriggerSource], log: ProblemLog) -> TriggerSet:
        """Merge trigger files (earlier ones first in rule order) and compile them."""
        lists: dict[str, list[str]] = {}
        rewrites: dict[str, str] = {}
        fuzzy: list[str] = []
        keep: list[str] = []
        negators: list[str] = []
        big_number_from = 10
        groups: list[tuple[str, TriggerKind, int, object]] = []
        for source in sources:
            top = Fields(log, source.file, "-", source.data, _TOP_KEYS)
            settings = Fields(log, source.file, "settings", top.mapping("settings"), _SETTINGS_KEYS)
            big_number_from = settings.number("big_number_from", big_number_from, minimum=1)
            fuzzy += settings.texts("fuzzy")
            keep += settings.texts("keep")
            negators += settings.texts("negators")
            for name, target in top.mapping("rewrite").items():
                if not isinstance(target, str):
                    log.error(source.file, "rewrite", name, "must be text")
                else:
                    rewrites.setdefault(name, target)
            for name, entries in top.mapping("words").items():
                if not valid_list_name(name):
                    log.error(source.file, "words", name, "list names use a-z, 0-9 and _ only")
                elif not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
                    log.error(source.file, "words", name, "must be a list of texts")
                else:
                    lists.setdefault(name, []).extend(entries)
            groups += [(source.file, "crisis", i, g) for i, g in enumerate(top.tables("crisis"))]
            groups += [(source.file, "request", i, g) for i, g in enumerate(top.tables("request"))]
        vocabulary = _vocabulary(
            [text for _, _, _, group in groups for text in _phrase_texts(group)],
            [entry for entries in lists.values() for entry in entries],
            [*rewrites, *rewrites.values(), *fuzzy],
        )
        normaliser = Normaliser(rewrites.items(), vocabulary)
        rules: list[TriggerRule] = []
        for file, kind, index, group in groups:
            where = f"{kind}[{index}]"
            rule = _compile_group(kind, where, group, file, lists, normaliser, big_number_from, log)
            if rule is not None:
                rules.append(rule)
        negator_pattern = _compile_negators(negators, normaliser)
        words = FuzzyWords(fuzzy, keep)
        return cls(rules, normaliser, words, negator_pattern)


def _phrase_texts(group: object) -> list[str]:
    if not isinstance(group, dict):
        return []
    found = group.get("phrases", [])
    return [text for text in found if isinstance(text, str)] if isinstance(found, list) else []


def _vocabulary(phrases: list[str], entries: list[str], words: list[str]) -> set[str]:
    """Every word the phrases, word lists and rewrites use, for reading spelt-out text."""
    vocabulary: set[str] = set()
    for text in phrases:
        plain = re.sub(r"\{[^}]*\}|\.\.\.|[\[\]()/&^$]", " ", fold(text))
        vocabulary.update(squeeze(plain).split())
    for text in entries + words:
        vocabulary.update(squeeze(fold(text)).split())
    return {word for word in vocabulary if word.isalpha()}


def _compile_negators(negators: list[str], normaliser: Normaliser) -> re.Pattern[str] | None:
    words = [normaliser.rewrite(squeeze(fold(n))) for n in negators]
    words = [w for w in words if w]
    if not words:
        return None
    return bounded("|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)))


def _compile_group(
    kind: TriggerKind,
    where: str,
    group: object,
    file: str,
    lists: dict[str, list[str]],
    normaliser: Normaliser,
    big_number_from: int,
    log: ProblemLog,
) -> TriggerRule | None:
    fields = Fields(log, file, where, group, ("rule", "phrases", "exclude"))
    rule = fields.text("rule", required=True)
    if rule is not None and not _RULE_ID.match(rule):
        log.error(file, where, "rule", "rule ids use a-z, 0-9, _ and : only")
        rule = None
    phrases = fields.texts("phrases", required=True)
    exclude = fields.texts("exclude")
    ok = rule is not None and bool(phrases)
    sources: dict[str, list[str]] = {"phrases": [], "exclude": []}
    combos: list[tuple[re.Pattern[str], ...]] = []
    for key, items in (("phrases", phrases), ("exclude", exclude)):
        for number, phrase in enumerate(items):
            try:
                parts = [
                    phrase_pattern(
                        part, lists=lists, normaliser=normaliser, big_number_from=big_number_from
                    )
                    for part in phrase.split("&")
                ]
            except PhraseError as error:
                log.error(file, where, f"{key}[{number}]", f"{error} in {phrase!r}")
                ok = False
                continue
            if len(parts) == 1:
                sources[key].append(parts[0])
            elif key == "phrases":
                combos.append(tuple(compile_sources([part]) for part in parts))
            else:
                log.error(file, where, f"{key}[{number}]", "'&' cannot be used in exclude")
                ok = False
    if not ok or rule is None:
        return None
    return TriggerRule(
        kind,
        f"{kind}:{rule}",
        compile_sources(sources["phrases"]) if sources["phrases"] else None,
        compile_sources(sources["exclude"]) if sources["exclude"] else None,
        tuple(combos),
    )
