"""Crisis and request-for-a-person detection from curated, data-driven phrase lists.

A trigger file (TOML) has:

- ``[settings]``: ``big_number_from`` (what counts as a big number of tablets),
  ``keep`` (words the spelling correction must leave as typed, "overdone"),
  ``negators`` (words that cancel a *request* just before it, "don't"),
  ``mutations`` (``"cy"``: every listed word also matches in its mutated forms, see
  ``mutations.py``) and ``fuzzy`` (extra words for the spelling correction to aim at;
  every word of the phrases and word lists already is one);
- ``[rewrite]``: text-speak and contractions to plain words ("wanna" = "want to");
- ``[words]``: named word lists used in phrases as ``{name}``;
- ``[[crisis]]`` groups: a ``rule`` id, ``phrases`` (see ``phrases.py``; ``a & b``
  means both anywhere in the message), the ``level`` a match means (``imminent``,
  ``high`` or ``concern``; ``high`` when left out), the ``topic`` (``suicide``,
  ``self_harm``, ``abuse`` or ``someone_else``; ``suicide`` when left out), and
  ``with_other``: the level when this group matches together with any other crisis
  group (a past attempt with present thoughts of suicide is ``high``). A group may
  list ``exclude`` phrases for a different, harmless meaning of the same words ("5
  kms", "die laughing"): a match that overlaps an excluded phrase does not count;
- ``[[request]]`` groups: a ``rule`` id, ``phrases`` and ``exclude``;
- ``[[safe]]`` groups: phrases for a harmless context of crisis words in any group
  ("suicide prevention", "Suicide Squad") or a clear first-person denial ("I'm not
  suicidal"); a crisis match inside one does not count. ``unless`` phrases anywhere
  in the message switch a safe group off ("not sure", "but"). A safe group whose rule
  is ``denial`` is reported, so the bot can answer a denial warmly.

Negation never silences a crisis phrase: "I don't want to live" and "I'm not sure I
won't hurt myself" are crises; only a listed denial can, and only for the words it
covers. The strongest level found wins; crisis always wins over a request.

Spelling slips are corrected before matching (``spelling.py``): every unknown word is
compared with the words the lists use, guarded by a real English dictionary so that
ordinary words are never "corrected" into crisis words. Run-together words
("iwanttodie") are split into known words first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot_engine.evidence import own_words
from bot_engine.normalise import Normaliser, bounded, fold, single_letters, squeeze
from bot_engine.phrases import PhraseError, phrase_needs, phrase_pattern, valid_list_name
from bot_engine.problems import Fields, ProblemLog
from bot_engine.rules import Phrase, Reading, SafeRule, Span, TriggerRule
from bot_engine.spelling import Speller, english_words
from bot_engine.types import Priority, RiskLevel, RiskTopic, TriggerMatch

_RULE_ID = re.compile(r"^[a-z0-9_]+(:[a-z0-9_]+)*$")
_TOP_KEYS = ("settings", "rewrite", "words", "crisis", "request", "safe")
_SETTINGS_KEYS = ("big_number_from", "fuzzy", "keep", "negators", "mutations")
_GROUP_KEYS: dict[str, tuple[str, ...]] = {
    "crisis": ("rule", "phrases", "exclude", "level", "topic", "with_other"),
    "request": ("rule", "phrases", "exclude"),
    "safe": ("rule", "phrases", "unless"),
}
_LEVELS = ("concern", "high", "imminent")
_RUN_TOGETHER_FROM = 7  # letters: an unknown word this long may be words run together
_DENIAL = "denial"
_WORDS_CACHE = 20_000  # typed tokens whose normalised words are remembered


@dataclass(frozen=True, slots=True)
class TriggerSource:
    """The parsed, not yet compiled content of one trigger file."""

    file: str
    data: dict[str, object]


@dataclass(frozen=True, slots=True)
class Assessment:
    """Everything the detector found in one message.

    ``crisis`` is the strongest crisis match, ``request`` a request for a person, and
    ``denied`` says a clear denial ("I'm not suicidal") covered crisis words that
    would otherwise have matched.
    """

    crisis: TriggerMatch | None = None
    request: TriggerMatch | None = None
    denied: bool = False
    # Crisis words were found but a list says they are harmless here ("jump in the
    # shower", "suicide prevention"): the statistical model is not asked either.
    excused: bool = False

    @property
    def match(self) -> TriggerMatch | None:
        """What ``detect`` returns: the crisis, else the request."""
        return self.crisis or self.request

    def stronger(self, other: Assessment) -> Assessment:
        """The combination of two assessments of one message (crisis first, by level)."""
        crisis = self.crisis
        if other.crisis is not None and (
            crisis is None or other.crisis.level.rank > crisis.level.rank
        ):
            crisis = other.crisis
        return Assessment(
            crisis,
            self.request or other.request,
            self.denied or other.denied,
            self.excused or other.excused,
        )


@dataclass(slots=True)
class _Hit:
    rule: TriggerRule
    reading: str
    found: str
    level: RiskLevel = field(default=RiskLevel.NONE)


class TriggerSet:
    """Every trigger rule for one locale, ready to match."""

    def __init__(
        self,
        rules: Sequence[TriggerRule],
        normaliser: Normaliser,
        speller: Speller,
        negators: re.Pattern[str] | None,
        safe: Sequence[SafeRule] = (),
        *,
        split_words: bool = True,
    ) -> None:
        self.rules = tuple(rules)
        self.normaliser = normaliser
        self._speller = speller
        self._negators = negators
        self._safe = tuple(safe)
        self._words_of: dict[str, list[str]] = {}
        # Splitting run-together words relies on an English dictionary to know a real
        # word; a language with mutations ("ddillad") would be split into nonsense.
        self._split_words = split_words
        self._crisis = tuple(rule for rule in self.rules if rule.kind == "crisis")
        self._request = tuple(rule for rule in self.rules if rule.kind == "request")
        # Which phrases each anchor piece allows; phrases without anchors always run.
        self._phrases = [p for rule in self.rules for p in rule.every_phrase()]
        self._phrases += [p for context in self._safe for p in context.every_phrase()]
        # Where each rule's own phrases sit, to hand a rule only the ones a reading allows.
        self._place = {
            id(phrase): (rule.rule, index, phrase)
            for rule in self.rules
            for index, phrase in enumerate(rule.phrases)
        }
        by_piece: dict[str, set[int]] = {}
        always: set[int] = set()
        for phrase in self._phrases:
            if not phrase.needs:
                always.add(id(phrase))
            for piece in phrase.needs:
                by_piece.setdefault(piece, set()).add(id(phrase))
        self._always = frozenset(always)
        self._by_piece = [(piece, frozenset(ids)) for piece, ids in sorted(by_piece.items())]

    def reading(self, text: str) -> Reading:
        """``text`` ready to match: the phrases its words allow are worked out once."""
        plain = single_letters(text)
        allowed = set(self._always)
        for piece, ids in self._by_piece:
            if piece in plain:
                allowed |= ids
        places = sorted((*self._place[i][:2], i) for i in allowed if i in self._place)
        by_rule: dict[str, list[Phrase]] = {}
        for rule, _, phrase_id in places:
            by_rule.setdefault(rule, []).append(self._place[phrase_id][2])
        return Reading(
            text, plain, frozenset(allowed), {rule: tuple(p) for rule, p in by_rule.items()}
        )

    def warm(self) -> int:
        """Compile every phrase now instead of on first use; returns how many."""
        for phrase in self._phrases:
            phrase.pattern  # noqa: B018 - compiling is the point
        return len(self._phrases)

    # ------------------------------------------------------------ readings

    def readings(self, text: str) -> list[str]:
        """Every normalised reading of ``text`` that the rules are tried against."""
        result: list[str] = []
        for variant in self.normaliser.variants(text):
            for reading in (variant, self.correct(variant)):
                if reading not in result:
                    result.append(reading)
        return result

    def correct(self, text: str) -> str:
        """Normalised ``text`` with misspelt and run-together words read as meant."""
        return " ".join(self._correct_word(word) for word in text.split())

    def _correct_word(self, word: str) -> str:
        corrected = self._speller.closest(word)
        if (
            corrected != word
            or not self._split_words
            or len(word) < _RUN_TOGETHER_FROM
            or word in english_words()
            or self._speller.keeps(word)
        ):
            return corrected
        pieces = self.normaliser.split_known(word)
        if pieces is None:
            return word
        # A run-together phrase is only worth reading when it is more than one word.
        return " ".join(self.normaliser.rewrite(p) for p in pieces)

    def words_of(self, token: str) -> list[str]:
        """The normalised words one typed token stands for (used to quote evidence)."""
        cached = self._words_of.get(token)
        if cached is not None:
            return cached
        words: list[str] = []
        for variant in self.normaliser.variants(token):
            for reading in (variant, self.correct(variant)):
                words += reading.split()
        if len(self._words_of) >= _WORDS_CACHE:
            self._words_of.clear()
        self._words_of[token] = words
        return words

    # ------------------------------------------------------------ matching

    def detect(self, text: str) -> TriggerMatch | None:
        """The strongest crisis in ``text``, else a request for a person, else None."""
        return self.assess(text).match

    def assess(self, text: str) -> Assessment:
        readings = self.readings(text)
        hits: dict[str, _Hit] = {}
        denied = excused = False
        prepared = [self.reading(text_reading) for text_reading in readings]
        for reading in prepared:
            safe: list[Span] = []
            denials: list[Span] = []
            for context in self._safe:
                spans = context.spans(reading)
                safe += spans
                if context.rule == _DENIAL:
                    denials += spans
            for rule in self._crisis:
                if rule.rule in hits:
                    continue
                found = rule.find(reading, None, safe)
                if found is not None:
                    hits[rule.rule] = _Hit(rule, reading.text, found, rule.level)
                elif denials and rule.find(reading) is not None:
                    denied = True
                elif (
                    not excused
                    and (safe or rule.exclude)
                    and rule.find(reading, use_exclude=False) is not None
                ):
                    excused = True
        crisis = self._strongest(list(hits.values()), text)
        if crisis is not None:
            return Assessment(crisis=crisis)
        return Assessment(request=self._request_in(prepared), denied=denied, excused=excused)

    def _strongest(self, hits: list[_Hit], text: str) -> TriggerMatch | None:
        if not hits:
            return None
        for hit in hits:
            boost = hit.rule.with_other
            if boost is not None and len(hits) > 1 and boost.rank > hit.level.rank:
                hit.level = boost
        best = max(hits, key=lambda h: h.level.rank)  # the first of the strongest
        return TriggerMatch(
            "crisis",
            Priority.CRISIS,
            best.rule.rule,
            self.quote(text, best.found),
            best.level,
            best.rule.topic,
        )

    def _request_in(self, readings: list[Reading]) -> TriggerMatch | None:
        for rule in self._request:
            for reading in readings:
                found = rule.find(reading, self._negators)
                if found is not None:
                    return TriggerMatch("request", Priority.REQUESTED, rule.rule, found)
        return None

    def quote(self, text: str, found: str) -> str:
        """The words of ``text``, as typed, that the normalised ``found`` came from."""
        return own_words(text, found, self.words_of)

    # ------------------------------------------------------------ building

    @classmethod
    def build(cls, sources: Sequence[TriggerSource], log: ProblemLog) -> TriggerSet:
        """Merge trigger files (earlier ones first in rule order) and compile them."""
        lists: dict[str, list[str]] = {}
        rewrites: dict[str, str] = {}
        fuzzy: list[str] = []
        keep: list[str] = []
        negators: list[str] = []
        big_number_from = 10
        mutated = False
        groups: list[tuple[str, str, int, object, str]] = []
        for source in sources:
            top = Fields(log, source.file, "-", source.data, _TOP_KEYS)
            settings = Fields(log, source.file, "settings", top.mapping("settings"), _SETTINGS_KEYS)
            big_number_from = settings.number("big_number_from", big_number_from, minimum=1)
            fuzzy += settings.texts("fuzzy")
            keep += settings.texts("keep")
            negators += settings.texts("negators")
            mutations = settings.choice("mutations", ("cy",)) or ""
            mutated = mutated or bool(mutations)
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
            for kind in ("crisis", "request", "safe"):
                groups += [
                    (source.file, kind, i, g, mutations) for i, g in enumerate(top.tables(kind))
                ]
        vocabulary = _vocabulary(
            [text for _, _, _, group, _ in groups for text in _phrase_texts(group)],
            [entry for entries in lists.values() for entry in entries],
            [*rewrites, *rewrites.values(), *fuzzy],
        )
        normaliser = Normaliser(rewrites.items(), vocabulary)
        rules: list[TriggerRule] = []
        safe: list[SafeRule] = []
        compiler = _GroupCompiler(lists, normaliser, big_number_from, log)
        for file, kind, index, group, mutations in groups:
            compiled = compiler.compile(kind, f"{kind}[{index}]", group, file, mutations)
            if isinstance(compiled, SafeRule):
                safe.append(compiled)
            elif compiled is not None:
                rules.append(compiled)
        negator_pattern = _compile_negators(negators, normaliser)
        speller_words = {normaliser.rewrite(word) for word in vocabulary} | vocabulary
        speller = Speller(
            (w for words in speller_words for w in words.split()),
            keep=(squeeze(fold(word)) for word in keep),
        )
        return cls(rules, normaliser, speller, negator_pattern, safe, split_words=not mutated)


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


class _GroupCompiler:
    """Compiles one ``[[crisis]]``, ``[[request]]`` or ``[[safe]]`` group."""

    def __init__(
        self,
        lists: dict[str, list[str]],
        normaliser: Normaliser,
        big_number_from: int,
        log: ProblemLog,
    ) -> None:
        self.lists, self.normaliser, self.log = lists, normaliser, log
        self.big_number_from = big_number_from

    def compile(
        self, kind: str, where: str, group: object, file: str, mutations: str
    ) -> TriggerRule | SafeRule | None:
        log = self.log
        fields = Fields(log, file, where, group, _GROUP_KEYS[kind])
        rule = fields.text("rule", required=True)
        if rule is not None and not _RULE_ID.match(rule):
            log.error(file, where, "rule", "rule ids use a-z, 0-9, _ and : only")
            rule = None
        phrases = fields.texts("phrases", required=True)
        other_key = "unless" if kind == "safe" else "exclude"
        others = fields.texts(other_key)
        level = topic = with_other = None
        if kind == "crisis":
            level = fields.choice("level", _LEVELS) or "high"
            topic = fields.choice("topic", tuple(t.value for t in RiskTopic)) or "suicide"
            with_other = fields.choice("with_other", _LEVELS)
        ok = rule is not None and bool(phrases)
        built: dict[str, list[Phrase]] = {"phrases": [], other_key: []}
        combos: list[tuple[Phrase, ...]] = []
        for key, items in (("phrases", phrases), (other_key, others)):
            for number, phrase in enumerate(items):
                try:
                    parts = [self._phrase(part, mutations) for part in phrase.split("&")]
                except PhraseError as error:
                    log.error(file, where, f"{key}[{number}]", f"{error} in {phrase!r}")
                    ok = False
                    continue
                if len(parts) == 1:
                    built[key].append(parts[0])
                elif key == "phrases" and kind != "safe":
                    combos.append(tuple(parts))
                else:
                    log.error(file, where, f"{key}[{number}]", f"'&' cannot be used in {key}")
                    ok = False
        if not ok or rule is None:
            return None
        if kind == "safe":
            return SafeRule(rule, tuple(built["phrases"]), tuple(built[other_key]))
        return TriggerRule(
            "crisis" if kind == "crisis" else "request",
            f"{kind}:{rule}",
            tuple(built["phrases"]),
            tuple(built[other_key]),
            tuple(combos),
            RiskLevel(level) if level else RiskLevel.NONE,
            RiskTopic(topic) if topic else None,
            RiskLevel(with_other) if with_other else None,
        )

    def _phrase(self, phrase: str, mutations: str) -> Phrase:
        source = phrase_pattern(
            phrase,
            lists=self.lists,
            normaliser=self.normaliser,
            big_number_from=self.big_number_from,
            mutations=mutations,
        )
        needs = phrase_needs(
            phrase, lists=self.lists, normaliser=self.normaliser, mutations=mutations
        )
        return Phrase(source, needs)
