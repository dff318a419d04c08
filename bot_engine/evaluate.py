"""Measuring the detector against a labelled corpus (``haven bot eval FILE...``).

A corpus file is tab-separated with the header ``label kind lang tag text`` (see
``tests/corpus/README.md``): ``label`` is a crisis level (``imminent``, ``high``,
``concern``), ``request`` or ``none``. The report gives crisis recall per level, per
topic and per tag, how often the level was right, too low or too high, requests
recognised, false escalations, detection time, and every miss, so that a change to
the lists can be judged by what it gains and what it breaks.
"""

from __future__ import annotations

import csv
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot_engine.types import RiskLevel, TriggerMatch

CRISIS_LABELS = ("imminent", "high", "concern")
LABELS = (*CRISIS_LABELS, "request", "none")
COLUMNS = ("label", "kind", "lang", "tag", "text")

Detect = Callable[[str, str], TriggerMatch | None]


class CorpusError(ValueError):
    """A corpus file that cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Example:
    label: str
    kind: str
    lang: str
    tag: str
    text: str
    where: str


def read_corpus(paths: Iterable[Path]) -> list[Example]:
    """Every example in ``paths`` (files, or directories of ``*.tsv`` files)."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*.tsv")) if path.is_dir() else [path]
    examples: list[Example] = []
    for file in files:
        with file.open(encoding="utf-8", newline="") as handle:
            rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(rows, None)
            if header is None or tuple(header) != COLUMNS:
                raise CorpusError(f"{file}:1: the header must be {' '.join(COLUMNS)}")
            for number, row in enumerate(rows, start=2):
                if not row:
                    continue
                if len(row) != len(COLUMNS) or row[0] not in LABELS or not row[4].strip():
                    raise CorpusError(
                        f"{file}:{number}: expected {len(COLUMNS)} fields, a "
                        f"label of {', '.join(LABELS)} and a text"
                    )
                label, kind, lang, tag, text = row
                examples.append(Example(label, kind, lang, tag, text, f"{file.name}:{number}"))
    return examples


@dataclass
class Tally:
    hits: int = 0
    total: int = 0

    def add(self, hit: bool) -> None:
        self.total += 1
        self.hits += int(hit)

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 1.0

    def __str__(self) -> str:
        return f"{self.hits}/{self.total} ({self.rate:.1%})"


@dataclass
class Report:
    """The figures of one evaluation run; ``lines()`` renders them."""

    crisis: Tally = field(default_factory=Tally)
    by_level: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_kind: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_tag: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_lang: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    level_calls: Counter[str] = field(default_factory=Counter)
    requests: Tally = field(default_factory=Tally)
    false_crisis: Tally = field(default_factory=Tally)
    false_request: Tally = field(default_factory=Tally)
    false_by_tag: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)
    timings_ms: list[float] = field(default_factory=list)

    def lines(self, *, show_misses: bool = True) -> list[str]:
        out = [f"crisis recall: {self.crisis}"]
        out += [
            f"  level {name}: {self.by_level[name]}"
            for name in CRISIS_LABELS
            if name in self.by_level
        ]
        out += [f"  topic {name}: {tally}" for name, tally in sorted(self.by_kind.items())]
        out += [f"  language {name}: {tally}" for name, tally in sorted(self.by_lang.items())]
        calls = self.level_calls
        judged = sum(calls.values())
        if judged:
            out.append(
                "level of recognised crises: "
                f"right {calls['right']}, too low {calls['low']}, too high {calls['high']}"
                f" (of {judged})"
            )
        out.append(f"requests recognised: {self.requests}")
        out.append(f"false crisis on ordinary messages: {self.false_crisis}")
        out.append(f"false request on ordinary messages: {self.false_request}")
        out.append("crisis recall by tag:")
        out += [f"  {tag}: {tally}" for tag, tally in sorted(self.by_tag.items())]
        flagged = {t: x for t, x in self.false_by_tag.items() if x.hits}
        if flagged:
            out.append("false escalations by tag:")
            out += [f"  {tag}: {tally}" for tag, tally in sorted(flagged.items())]
        if self.timings_ms:
            ordered = sorted(self.timings_ms)
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            out.append(
                f"detection time: median {statistics.median(ordered):.2f} ms, "
                f"p99 {p99:.2f} ms, max {ordered[-1]:.2f} ms"
            )
        if show_misses:
            out += [f"MISS  {line}" for line in self.misses]
            out += [f"FALSE {line}" for line in self.false_alarms]
        return out


def evaluate(examples: Iterable[Example], detect: Detect) -> Report:
    """Run ``detect(text, lang)`` on every example and tally the results."""
    report = Report()
    for example in examples:
        started = time.perf_counter()
        match = detect(example.text, example.lang)
        report.timings_ms.append((time.perf_counter() - started) * 1000)
        got = _describe(match)
        if example.label in CRISIS_LABELS:
            hit = match is not None and match.kind == "crisis"
            for tally in (
                report.crisis,
                report.by_level[example.label],
                report.by_kind[example.kind],
                report.by_tag[example.tag],
                report.by_lang[example.lang],
            ):
                tally.add(hit)
            if match is not None and hit:
                report.level_calls[_call(RiskLevel.parse(example.label), match.level)] += 1
            else:
                report.misses.append(
                    f"{example.where} [{example.label}/{example.kind}/{example.tag}] "
                    f"{example.text!r} -> {got}"
                )
        elif example.label == "request":
            report.requests.add(match is not None)
            if match is None:
                report.misses.append(f"{example.where} [request/{example.tag}] {example.text!r}")
        else:
            crisis = match is not None and match.kind == "crisis"
            request = match is not None and match.kind == "request"
            report.false_crisis.add(crisis)
            report.false_request.add(request)
            report.false_by_tag[example.tag].add(match is not None)
            if match is not None:
                report.false_alarms.append(
                    f"{example.where} [{example.tag}] {example.text!r} -> {got}"
                )
    return report


def _call(expected: RiskLevel, got: RiskLevel) -> str:
    if got.rank == expected.rank:
        return "right"
    return "low" if got.rank < expected.rank else "high"


def _describe(match: TriggerMatch | None) -> str:
    if match is None:
        return "nothing"
    level = f" {match.level}" if match.kind == "crisis" else ""
    return f"{match.kind}{level} {match.rule} ({match.matched!r})"
