"""The packaged trigger lists, and ``detect``: the check the gateway can call on any
message, any time.

The engine runs the same check at the start of every step (with any extra phrases of
its script set, see ``BotEngine.detect``). The gateway also calls it on messages typed
while a session waits in the queue, to raise the session's level.

Each locale gets one trigger set: a deployment's ``triggers-<locale>.toml`` first,
then the packaged list for the locale. A locale's detector runs its own set first and
then the sets of every other installed locale, because people mix and switch
languages: Welsh is recognised in an English session and English in a Welsh one.
"""

from __future__ import annotations

import functools
import json

from bot_engine.evidence import own_words
from bot_engine.files import BASE_LOCALE, PACKAGED_TRIGGERS_DIR, SCRIPT_FILE, read_toml
from bot_engine.model import RiskModel, packaged_model
from bot_engine.model import words_of as model_words_of
from bot_engine.normalise import Normaliser
from bot_engine.problems import Problem, ProblemLog
from bot_engine.triggers import Assessment, TriggerSet, TriggerSource
from bot_engine.types import Priority, RiskLevel, TriggerMatch

MODEL_RULE = "crisis:model"
# The packaged statistical model runs under the rules of every detector built here:
# decided by measurement, see docs/safeguarding.md ("Detection: rules and the
# statistical model").
USE_MODEL = True
# The model is not asked about messages shorter than this: on the development and
# held-out files it found no crisis there that the rules missed, and on everyday
# replies ("and now?", "I don't know") it raised false alarms.
MODEL_MIN_WORDS = 4


def base_locale(locale: str) -> str:
    """``cy-GB`` -> ``cy``; anything unusable -> English."""
    code = (locale or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code.isalpha() and 2 <= len(code) <= 3 else BASE_LOCALE


class Detector:
    """Crisis and request detection for one locale, with every installed language.

    ``primary`` is the locale's own trigger set; ``others`` are the sets of every other
    installed locale. Crisis recognition
    runs all of them on every message, because people switch language and a widget
    can be set to the wrong one; the strongest crisis wins, and a request in the
    session's language comes before one in another.

    ``model`` (see ``model.py``) is a safety net under the rules: when no rule finds a
    crisis and no denial covers crisis words, a message the model scores at or above
    its threshold is a crisis at level ``concern`` (rule ``crisis:model``), quoting
    the words that weighed most, as typed. The model never silences a rule.
    """

    def __init__(
        self,
        primary: TriggerSet,
        others: tuple[TriggerSet, ...] = (),
        model: RiskModel | None = None,
    ) -> None:
        self.primary = primary
        self.others = others
        self.model = model
        # The last message assessed and what was found: a step that is run again
        # for the same message (with the service's real staffing) does not detect
        # twice. ``assess`` is a pure function of the text, so this changes nothing.
        self._last: tuple[str, Assessment] | None = None

    def warm(self) -> int:
        """Compile every phrase of every language now; returns how many."""
        return sum(trigger_set.warm() for trigger_set in (self.primary, *self.others))

    @property
    def normaliser(self) -> Normaliser:
        return self.primary.normaliser

    def assess(self, text: str) -> Assessment:
        """What the rules find, with the model's crisis when they find none."""
        last = self._last
        if last is not None and last[0] == text:
            return last[1]
        found = self._assess(text)
        self._last = (text, found)
        return found

    def _assess(self, text: str) -> Assessment:
        found = self.rules(text)
        if self.model is None or found.crisis is not None or found.denied or found.excused:
            return found
        if len(text.split()) < MODEL_MIN_WORDS:
            return found  # too little for a statistical guess: "and now?", "I don't know"
        scored = self.model.score(text)
        if not scored.crisis:
            return found
        words = " ".join(scored.words)
        quote = own_words(text, words, model_words_of) if words else text.strip()[:200]
        crisis = TriggerMatch(
            "crisis", Priority.CRISIS, MODEL_RULE, quote, RiskLevel.CONCERN, scored.topic
        )
        return Assessment(crisis=crisis)

    def rules(self, text: str) -> Assessment:
        """What the trigger lists of every locale find, without the model."""
        found = self.primary.assess(text)
        for other in self.others:
            if found.crisis is not None and found.crisis.level == RiskLevel.IMMINENT:
                break
            found = found.stronger(other.assess(text))
        return found

    def detect(self, text: str) -> TriggerMatch | None:
        """The strongest crisis in ``text``, else a request for a person, else None."""
        return self.assess(text).match


def detect(text: str, locale: str = BASE_LOCALE) -> TriggerMatch | None:
    """A crisis (with its level) or a request for a person in ``text``, or ``None``.

    Crisis wins over a request. Uses the packaged phrase lists of every installed
    locale, ``locale``'s own first; an unknown locale counts as English.
    """
    return detector_for(locale).detect(text)


def assess(text: str, locale: str = BASE_LOCALE) -> Assessment:
    """Everything the packaged lists find in ``text``, including a denial."""
    return detector_for(locale).assess(text)


def detector_for(locale: str) -> Detector:
    sets = packaged_trigger_sets()
    return sets.get(base_locale(locale)) or sets[BASE_LOCALE]


def packaged_trigger_sources(log: ProblemLog) -> dict[str, TriggerSource]:
    """The trigger lists shipped with the engine, keyed by locale."""
    sources: dict[str, TriggerSource] = {}
    for path in sorted(PACKAGED_TRIGGERS_DIR.glob("*.toml")):
        match = SCRIPT_FILE.match(path.name)
        data = read_toml(path, log, f"triggers/{path.name}")
        if match and data is not None:
            sources[match.group(1)] = TriggerSource(f"triggers/{path.name}", data)
    return sources


def build_trigger_sets(
    packaged: dict[str, TriggerSource],
    extra: dict[str, TriggerSource],
    locales: set[str],
    log: ProblemLog,
) -> dict[str, Detector]:
    """One detector per locale: the locale's own phrases (a deployment's
    ``triggers-<locale>.toml`` first, then the packaged list), then the own phrases of
    every other locale. Each list is compiled once, and its problems reported once.
    """
    own: dict[str, TriggerSet] = {}
    everyone = sorted(locales | {BASE_LOCALE}, key=lambda x: (x != BASE_LOCALE, x))
    for locale in everyone:
        sources = [s for s in (extra.get(locale), packaged.get(locale)) if s is not None]
        if not sources:
            continue
        own[locale], problems = _build(sources)
        log.extend(problems)

    def detector(locale: str) -> Detector:
        primary = own.get(locale, own[BASE_LOCALE])
        others = tuple(s for s in own.values() if s is not primary)
        return Detector(primary, others, packaged_model() if USE_MODEL else None)

    return {locale: detector(locale) for locale in everyone}


# Building a trigger set compiles hundreds of phrases; the same files give the same
# set, so a reload (or a second engine in the same process) reuses it.
_BUILT: dict[str, tuple[TriggerSet, list[Problem]]] = {}
_BUILT_LIMIT = 16


def _build(sources: list[TriggerSource]) -> tuple[TriggerSet, list[Problem]]:
    key = json.dumps([(s.file, s.data) for s in sources], sort_keys=True, default=str)
    if key not in _BUILT:
        log = ProblemLog()
        triggers = TriggerSet.build(sources, log)
        if len(_BUILT) >= _BUILT_LIMIT:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[key] = (triggers, list(log.items))
    return _BUILT[key]


@functools.cache
def packaged_trigger_sets() -> dict[str, Detector]:
    """The packaged trigger sets, loaded once; broken packaged data is a bug."""
    log = ProblemLog()
    packaged = packaged_trigger_sources(log)
    sets = build_trigger_sets(packaged, {}, set(packaged), log)
    log.raise_if_errors()
    return sets
