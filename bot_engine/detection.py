"""The packaged trigger lists, and ``detect``: the check the gateway can call on any
message, any time.

The engine runs the same check at the start of every step (with any extra phrases of
its script set, see ``BotEngine.detect``). The gateway also calls it on messages typed
while a session waits in the queue, to raise the session to crisis priority.

Each locale gets one merged trigger set: a deployment's ``triggers-<locale>.toml``
first, then the packaged list for the locale, then (for locales other than English)
the English ones, because people often mix languages.
"""

from __future__ import annotations

import functools
import json

from bot_engine.files import BASE_LOCALE, PACKAGED_TRIGGERS_DIR, SCRIPT_FILE, read_toml
from bot_engine.problems import Problem, ProblemLog
from bot_engine.triggers import TriggerSet, TriggerSource
from bot_engine.types import TriggerMatch


def base_locale(locale: str) -> str:
    """``cy-GB`` -> ``cy``; anything unusable -> English."""
    code = (locale or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code.isalpha() and 2 <= len(code) <= 3 else BASE_LOCALE


def detect(text: str, locale: str = BASE_LOCALE) -> TriggerMatch | None:
    """A crisis or a request for a person in ``text``, or ``None``.

    Crisis wins over a request. Uses the packaged phrase lists of ``locale`` plus the
    English ones (people often write in more than one language); an unknown locale
    uses English only.
    """
    sets = packaged_trigger_sets()
    chosen = sets.get(base_locale(locale)) or sets[BASE_LOCALE]
    return chosen.detect(text)


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
) -> dict[str, TriggerSet]:
    """One merged trigger set per locale: the locale's own phrases, then English.

    Problems in a file are reported once, while building English (for English files)
    or the file's own locale.
    """
    result: dict[str, TriggerSet] = {}
    for locale in sorted(locales | {BASE_LOCALE}, key=lambda x: (x != BASE_LOCALE, x)):
        order = [extra.get(locale), packaged.get(locale)]
        if locale != BASE_LOCALE:
            order += [extra.get(BASE_LOCALE), packaged.get(BASE_LOCALE)]
        sources = [source for source in order if source is not None]
        result[locale], problems = _build(sources)
        own = {s.file for s in (extra.get(locale), packaged.get(locale)) if s is not None}
        log.extend(p for p in problems if locale == BASE_LOCALE or p.file in own)
    return result


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
def packaged_trigger_sets() -> dict[str, TriggerSet]:
    """The packaged trigger sets, loaded once; broken packaged data is a bug."""
    log = ProblemLog()
    packaged = packaged_trigger_sources(log)
    sets = build_trigger_sets(packaged, {}, set(packaged), log)
    log.raise_if_errors()
    return sets
