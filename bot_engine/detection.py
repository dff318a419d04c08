"""The packaged trigger lists, and ``detect``: the check the gateway can call on any
message, any time.

The engine runs the same check at the start of every step (with any extra phrases of
its script set, see ``BotEngine.detect``). The gateway also calls it on messages typed
while a session waits in the queue, to raise the session's level.

Each locale gets one merged trigger set: a deployment's ``triggers-<locale>.toml``
first, then the packaged list for the locale, then (for locales other than English)
the English ones, because people often mix languages. Its detector also runs the own
lists of every other installed locale, so Welsh is recognised in an English session.
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


def base_locale(locale: str) -> str:
    """``cy-GB`` -> ``cy``; anything unusable -> English."""
    code = (locale or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code.isalpha() and 2 <= len(code) <= 3 else BASE_LOCALE


class Detector:
    """Crisis and request detection for one locale, with every installed language.

    ``primary`` is the locale's own merged trigger set (its phrases, then English);
    ``others`` are the own phrases of every other installed locale. Crisis recognition
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

    @property
    def normaliser(self) -> Normaliser:
        return self.primary.normaliser

    def assess(self, text: str) -> Assessment:
        """What the rules find, with the model's crisis when they find none."""
        found = self.rules(text)
        if self.model is None or found.crisis is not None or found.denied:
            return found
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
    """One detector per locale: the locale's own phrases, then English, then the
    own phrases of every other locale.

    Problems in a file are reported once, while building English (for English files)
    or the file's own locale.
    """
    merged: dict[str, TriggerSet] = {}
    alone: dict[str, TriggerSet] = {}
    everyone = sorted(locales | {BASE_LOCALE}, key=lambda x: (x != BASE_LOCALE, x))
    for locale in everyone:
        own = [s for s in (extra.get(locale), packaged.get(locale)) if s is not None]
        order: list[TriggerSource | None] = list(own)
        if locale != BASE_LOCALE:
            order += [extra.get(BASE_LOCALE), packaged.get(BASE_LOCALE)]
        sources = [source for source in order if source is not None]
        merged[locale], problems = _build(sources)
        files = {s.file for s in own}
        log.extend(p for p in problems if locale == BASE_LOCALE or p.file in files)
        if locale != BASE_LOCALE and own:
            alone[locale] = _build(own)[0]
    return {
        locale: Detector(
            merged[locale],
            tuple(s for other, s in alone.items() if other != locale),
            packaged_model() if USE_MODEL else None,
        )
        for locale in everyone
    }


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
