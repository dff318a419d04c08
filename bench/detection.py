"""How long crisis detection takes per message, against baselines measured in the same run.

    .venv/bin/python -m bench.detection            # every message of tests/corpus
    .venv/bin/python -m bench.detection --rounds 5

Detection runs on every message a person types while with the bot or waiting, inside
the unit of work that stores it, so it must stay well under the 5 ms budget of
docs/safeguarding.md. The baselines show what the same messages cost with no
detection at all: one ``str.lower`` and one compiled regex search (a naive keyword
list), and the text pipeline alone (``fold``: emoji, look-alikes, accents). Figures are
per message, in milliseconds, for short (up to 60 characters), typical (61-200) and
long (over 200) messages, for an English and a Welsh session.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bot_engine import detect
from bot_engine.detection import detector_for
from bot_engine.evaluate import read_corpus
from bot_engine.normalise import fold

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"
_NAIVE = re.compile(r"\b(suicide|kill myself|overdose|self harm|want to die|end it)\b")


def _timed(fn: Callable[[str], object], texts: list[str], rounds: int) -> list[float]:
    times: list[float] = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            fn(text)
            times.append((time.perf_counter() - started) * 1000)
    return times


def _row(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name:<34} median {statistics.median(ordered):7.3f}  p99 {p99:7.3f}  "
        f"max {ordered[-1]:7.3f}  (n={len(ordered)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="passes over the corpus")
    args = parser.parse_args(argv)
    texts = [example.text for example in read_corpus([CORPUS])]
    started = time.perf_counter()
    compiled = detector_for("en").warm()  # every language's phrases, as a service does
    print(f"compiled {compiled} phrases in {time.perf_counter() - started:.1f} s")
    groups = {
        "short (<=60 chars)": [t for t in texts if len(t) <= 60],
        "typical (61-200 chars)": [t for t in texts if 60 < len(t) <= 200],
        "long (>200 chars)": [t for t in texts if len(t) > 200],
    }
    print(f"{len(texts)} corpus messages, {args.rounds} rounds, times in ms per message")
    for label, group in groups.items():
        if not group:
            continue
        print(f"\n{label}")
        print(
            _row(
                "baseline: lower + one regex",
                _timed(lambda t: _NAIVE.search(t.lower()), group, args.rounds),
            )
        )
        print(_row("baseline: fold (text pipeline)", _timed(fold, group, args.rounds)))
        print(
            _row("detect, English session", _timed(lambda t: detect(t, "en"), group, args.rounds))
        )
        print(_row("detect, Welsh session", _timed(lambda t: detect(t, "cy"), group, args.rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
