#!/usr/bin/env python3
"""Train the statistical crisis model and measure it against the rules.

Development only: needs scikit-learn (``pip install -e '.[train]'``); the engine scores
with the exported weights in plain Python (``bot_engine/model.py``).

    python scripts/train_risk_model.py             # train, export, report (seconds)
    python scripts/train_risk_model.py --compare   # ... choosing the settings first
    python scripts/train_risk_model.py --dev       # ... and measure on the dev files
    python scripts/train_risk_model.py --heldout   # ... and once, at the end, on held-out

What it does, on ``tests/corpus/*.train.tsv`` only (English and Welsh):

1. reads every message as the model will at run time (``bot_engine.model.reading``)
   and labels it crisis (``imminent``, ``high``, ``concern``) or not (``request``,
   ``none``);
2. with ``--compare``, compares a few feature settings (``GRID``; otherwise it uses
   ``GRID[CHOSEN]``) by 5-fold stratified cross-validation: tf-idf over
   binary ``char_wb`` n-grams, with or without word n-grams, an l2-regularised
   logistic regression, the features pruned to the strongest few thousand inside each
   fold; the winner has the best ROC AUC (steadier than recall at a budget of a
   few ordinary messages);
3. sets the threshold on the cross-validated probabilities: the lowest at which no
   more than ``--budget`` of the ordinary (``none``) messages reach it;
4. reports crisis recall and false crisis for: (a) the rules alone, (b) the model as
   a safety net when the rules find nothing, (c) (b) plus a model veto of the rules,
   and the model alone, all cross-validated;
5. trains on every training message, prunes, refits and writes
   ``bot_engine/data/risk_model.json``, checking that the pure-Python scorer gives
   scikit-learn's probabilities;
6. with ``--dev`` and ``--heldout``, measures the same options on ``*.dev.tsv`` and
   ``*.heldout.tsv`` with the exported model, through ``Detector.assess`` as the
   engine runs it. Nothing is chosen on them; held-out figures are for the final
   decision only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

try:
    import numpy as np
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
except ImportError:  # pragma: no cover - a development tool
    sys.exit("scikit-learn is needed: pip install -e '.[train]'")

from bot_engine.detection import MODEL_RULE, Detector, detector_for  # noqa: E402
from bot_engine.evaluate import CRISIS_LABELS, Example, read_corpus  # noqa: E402
from bot_engine.model import FORMAT_VERSION, MODEL_FILE, READING, RiskModel, reading  # noqa: E402
from bot_engine.triggers import Assessment  # noqa: E402

CORPUS = ROOT / "tests" / "corpus"
WORD_PATTERN = r"(?u)\b\w+\b"  # single letters count: "i" is not "he"
FOLDS = 5
SEED = 0
VETO_LOSS = 0.02  # option (c): the veto may drop this share of the rules' true crises
DIGITS = 6  # significant digits of the exported weights
# A model escalation is about self-harm when words that pushed it up match this (the
# reading is lower-case words separated by single spaces).
SELF_HARM_PATTERN = (
    r"\b(?:cut(?:s|ting|ter)?|self ?harm\w*|sh|harm(?:ing)? my ?self|hurt(?:ing)? my ?self"
    r"|burn(?:t|ed|ing|s)? my ?self|scratch\w*|blades?|razors?|bleed\w*|bled|scars?"
    r"|relaps\w*|clean|wrists?|thighs?|sharpener|stitches"
    # Welsh, with the mutated forms: torri (cut), llosgi (burn), crafu (scratch),
    # brifo (hurt), niweidio (harm), llafn (blade), gwaed (blood), creithiau (scars)
    r"|torri|dorri|nhorri|thorri|llosgi|losgi|crafu|grafu|nghrafu|chrafu|brifo|frifo"
    r"|mrifo|\w*niweid\w*|llafn\w*|lafn\w*|n?gwaed\w*|waed\w*|(?:c|ch|g|ngh)?reith\w*)\b"
)


@dataclass(frozen=True)
class Settings:
    """One feature and regularisation setting tried by cross-validation."""

    char: tuple[int, int] = (2, 5)
    word: tuple[int, int] | None = (1, 2)
    c: float = 10.0
    keep: int = 12_000  # n-grams kept after pruning (the strongest by |weight|)

    def __str__(self) -> str:
        word = f"word {self.word[0]}-{self.word[1]}" if self.word else "no words"
        return f"char_wb {self.char[0]}-{self.char[1]}, {word}, C={self.c:g}, keep {self.keep}"


GRID = (
    Settings(word=None),
    Settings(c=3.0),
    Settings(),
    Settings(c=30.0),
    Settings(keep=6000),
)
CHOSEN = 3  # the winner of the last ``--compare`` (see docs/safeguarding.md)


# ---------------------------------------------------------------- fitting


def vectorizers(
    settings: Settings, vocabulary: Sequence[dict[str, int] | None] = ()
) -> list[TfidfVectorizer]:
    """The blocks of features; ``vocabulary`` fixes each block's n-grams (after pruning)."""
    common = {
        "binary": True,
        "use_idf": True,
        "smooth_idf": True,
        "norm": "l2",
        "lowercase": False,
        "dtype": np.float64,
    }
    blocks = [TfidfVectorizer(analyzer="char_wb", ngram_range=settings.char, **common)]
    if settings.word:
        blocks.append(
            TfidfVectorizer(
                analyzer="word", ngram_range=settings.word, token_pattern=WORD_PATTERN, **common
            )
        )
    for block, fixed in zip(blocks, vocabulary, strict=False):
        if fixed is not None:
            block.set_params(vocabulary=fixed)
    return blocks


@dataclass
class Fitted:
    blocks: list[TfidfVectorizer]
    classifier: LogisticRegression

    def matrix(self, texts: Sequence[str]) -> csr_matrix:
        return hstack([block.transform(texts) for block in self.blocks]).tocsr()

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return self.classifier.predict_proba(self.matrix(texts))[:, 1]


def fit(settings: Settings, texts: Sequence[str], labels: np.ndarray) -> Fitted:
    """Fit, keep the ``settings.keep`` strongest n-grams, and fit again on those alone
    (so the exported model, normalised over its own n-grams, is the one measured)."""
    blocks = vectorizers(settings)
    matrix = hstack([block.fit_transform(texts) for block in blocks]).tocsr()
    first = _classifier(settings).fit(matrix, labels)
    strength = np.abs(first.coef_[0])
    cut = np.sort(strength)[-settings.keep] if len(strength) > settings.keep else 0.0
    kept: list[dict[str, int]] = []
    offset = 0
    for block in blocks:
        names = block.get_feature_names_out()
        chosen = [n for i, n in enumerate(names) if strength[offset + i] >= cut]
        kept.append({name: index for index, name in enumerate(sorted(chosen))})
        offset += len(names)
    blocks = vectorizers(settings, kept)
    matrix = hstack([block.fit_transform(texts) for block in blocks]).tocsr()
    return Fitted(blocks, _classifier(settings).fit(matrix, labels))


def _classifier(settings: Settings) -> LogisticRegression:
    return LogisticRegression(C=settings.c, class_weight="balanced", max_iter=5000)


def cross_validated(settings: Settings, texts: list[str], labels: np.ndarray) -> np.ndarray:
    """Out-of-fold crisis probabilities for every training message."""
    found = np.zeros(len(texts))
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED)
    for train, test in folds.split(np.zeros(len(texts)), labels):
        fitted = fit(settings, [texts[i] for i in train], labels[train])
        found[test] = fitted.probabilities([texts[i] for i in test])
    return found


def threshold_for(probabilities: np.ndarray, ordinary: np.ndarray, budget: float) -> float:
    """The lowest threshold (4 decimals) at which at most ``budget`` of the ordinary
    messages reach it."""
    scores = np.sort(probabilities[ordinary])[::-1]
    allowed = int(budget * len(scores))
    above = scores[allowed] if allowed < len(scores) else 0.0
    return float(np.floor(above * 10_000) + 1) / 10_000


# ---------------------------------------------------------------- measuring


@dataclass
class Corpus:
    examples: list[Example]
    texts: list[str]
    labels: np.ndarray
    ordinary: np.ndarray  # label none
    requests: np.ndarray
    rules: list[Assessment]

    @classmethod
    def read(cls, pattern: str) -> Corpus:
        examples = read_corpus(sorted(CORPUS.glob(pattern)))
        rules = [_bare(example.lang).rules(example.text) for example in examples]
        return cls(
            examples,
            [reading(example.text) for example in examples],
            np.array([e.label in CRISIS_LABELS for e in examples], dtype=int),
            np.array([e.label == "none" for e in examples]),
            np.array([e.label == "request" for e in examples]),
            rules,
        )

    @property
    def rule_crisis(self) -> np.ndarray:
        return np.array([found.crisis is not None for found in self.rules])

    @property
    def denied(self) -> np.ndarray:
        return np.array([found.denied for found in self.rules])


def _bare(locale: str, model: RiskModel | None = None) -> Detector:
    """The packaged rules for ``locale``, with ``model`` (none by default)."""
    packaged = detector_for(locale)
    return Detector(packaged.primary, packaged.others, model)


def options(
    corpus: Corpus, probabilities: np.ndarray, threshold: float, veto: float
) -> dict[str, np.ndarray]:
    """Which messages each way of combining rules and model calls a crisis."""
    rules = corpus.rule_crisis
    model = probabilities >= threshold
    net = rules | (~rules & ~corpus.denied & model)
    return {
        "(a) rules only": rules,
        "(b) rules + model safety net": net,
        "(c) (b) + model veto": (rules & (probabilities >= veto)) | (~rules & net),
        "model alone": model,
    }


def report(corpus: Corpus, calls: dict[str, np.ndarray]) -> list[str]:
    crisis = corpus.labels == 1
    welsh = np.array([e.lang == "cy" for e in corpus.examples])
    lines = [
        f"  {'option':30} {'recall':>16} {'en':>7} {'cy':>7} {'false crisis':>15}"
        f" {'request->crisis':>16}"
    ]
    for name, called in calls.items():
        lines.append(
            f"  {name:30} {_rate(called, crisis):>16} {_share(called, crisis & ~welsh):>7}"
            f" {_share(called, crisis & welsh):>7} {_rate(called, corpus.ordinary):>15}"
            f" {_rate(called, corpus.requests):>16}"
        )
    return lines


def _rate(called: np.ndarray, among: np.ndarray) -> str:
    hits, total = int((called & among).sum()), int(among.sum())
    return f"{hits}/{total} {hits / total:.1%}" if total else "-"


def _share(called: np.ndarray, among: np.ndarray) -> str:
    total = int(among.sum())
    return f"{(called & among).sum() / total:.1%}" if total else "-"


def recall_at_budget(probabilities: np.ndarray, corpus: Corpus, budget: float) -> float:
    threshold = threshold_for(probabilities, corpus.ordinary, budget)
    return float((probabilities[corpus.labels == 1] >= threshold).mean())


def veto_for(probabilities: np.ndarray, corpus: Corpus) -> float:
    """The veto threshold of option (c): it drops ``VETO_LOSS`` of the rules' true
    crises (measured on the cross-validated probabilities)."""
    caught = probabilities[(corpus.labels == 1) & corpus.rule_crisis]
    return float(np.quantile(caught, VETO_LOSS)) if len(caught) else 0.0


def timings_ms(function: Callable[[str], object], texts: Sequence[str]) -> tuple[float, float]:
    """Median and 99th percentile of one call, in milliseconds."""
    spent: list[float] = []
    for text in texts:
        started = time.perf_counter()
        function(text)
        spent.append((time.perf_counter() - started) * 1000)
    spent.sort()
    return statistics.median(spent), spent[min(len(spent) - 1, int(len(spent) * 0.99))]


# ---------------------------------------------------------------- export


def export(
    fitted: Fitted,
    settings: Settings,
    threshold: float,
    texts: Sequence[str],
    figures: dict[str, object],
) -> dict[str, object]:
    coef = fitted.classifier.coef_[0]
    blocks: list[dict[str, object]] = []
    offset = 0
    for block in fitted.blocks:
        names = block.get_feature_names_out()
        features = {
            str(name): [_round(block.idf_[i]), _round(coef[offset + i])]
            for i, name in enumerate(names)
        }
        offset += len(names)
        entry: dict[str, object] = {
            "analyzer": block.analyzer,
            "ngram_range": list(block.ngram_range),
            "binary": True,
            "norm": "l2",
            "smooth_idf": True,
        }
        if block.analyzer == "word":
            entry["token_pattern"] = block.token_pattern
        entry["features"] = dict(sorted(features.items()))
        blocks.append(entry)
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
    return {
        "format": FORMAT_VERSION,
        "version": f"{digest}-{len(texts)}",
        "about": "Crisis model for Haven's bot engine: see docs/safeguarding.md and "
        "scripts/train_risk_model.py. Trained on tests/corpus/*.train.tsv only.",
        "reading": READING,
        "settings": str(settings),
        "threshold": threshold,
        "level": "concern",
        "self_harm_pattern": SELF_HARM_PATTERN,
        "intercept": _round(fitted.classifier.intercept_[0]),
        "cross_validation": figures,
        "blocks": blocks,
    }


def _round(value: float) -> float:
    return float(f"{float(value):.{DIGITS}g}")


def sklearn_probabilities(data: dict[str, object], texts: Sequence[str]) -> np.ndarray:
    """The exported model's probabilities computed by scikit-learn itself."""
    blocks = data["blocks"]
    assert isinstance(blocks, list)
    matrices = []
    coefs: list[float] = []
    for entry in blocks:
        features = entry["features"]
        names = list(features)
        word = {"token_pattern": entry["token_pattern"]} if entry["analyzer"] == "word" else {}
        vectorizer = TfidfVectorizer(
            analyzer=entry["analyzer"],
            ngram_range=tuple(entry["ngram_range"]),
            **word,
            binary=True,
            use_idf=True,
            smooth_idf=True,
            norm="l2",
            lowercase=False,
            vocabulary={name: i for i, name in enumerate(names)},
            dtype=np.float64,
        )
        vectorizer.fit(["x"])
        vectorizer.idf_ = np.array([features[n][0] for n in names], dtype=np.float64)
        matrices.append(vectorizer.transform(texts))
        coefs += [features[n][1] for n in names]
    decision = hstack(matrices).tocsr() @ np.array(coefs) + float(data["intercept"])  # type: ignore[arg-type]
    return 1.0 / (1.0 + np.exp(-decision))


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--budget",
        type=float,
        default=0.02,
        help="share of ordinary messages the model may flag (default 0.02)",
    )
    parser.add_argument("--out", type=Path, default=MODEL_FILE, help="where to write the model")
    parser.add_argument("--no-write", action="store_true", help="measure only")
    parser.add_argument(
        "--dev", action="store_true", help="measure on tests/corpus/*.dev.tsv at the end"
    )
    parser.add_argument(
        "--heldout",
        action="store_true",
        help="measure once on tests/corpus/*.heldout.tsv at the end",
    )
    parser.add_argument(
        "--compare", action="store_true", help="compare every setting of GRID (about a minute)"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    train = Corpus.read("*.train.tsv")
    print(
        f"training messages: {len(train.texts)} ({int(train.labels.sum())} crisis, "
        f"{int(train.ordinary.sum())} ordinary, {int(train.requests.sum())} requests)"
    )

    grid = GRID if args.compare else (GRID[CHOSEN],)
    best: tuple[float, float, Settings, np.ndarray] | None = None
    print(
        f"{FOLDS}-fold cross-validation; recall of the model alone at {args.budget:.0%} "
        "false crisis on ordinary messages:"
    )
    for settings in grid:
        probabilities = cross_validated(settings, train.texts, train.labels)
        recall = recall_at_budget(probabilities, train, args.budget)
        auc = float(roc_auc_score(train.labels, probabilities))
        print(f"  {settings}: recall {recall:.1%}, ROC AUC {auc:.3f}")
        if best is None or (auc, recall) > (best[0], best[1]):
            best = (auc, recall, settings, probabilities)
    assert best is not None
    auc, _, settings, probabilities = best
    threshold = threshold_for(probabilities, train.ordinary, args.budget)
    veto = veto_for(probabilities, train)
    print(f"chosen: {settings}; threshold {threshold:.4f}; option (c) veto below {veto:.4f}")
    print("options, cross-validated on the training files (rules as they are now):")
    calls = options(train, probabilities, threshold, veto)
    print("\n".join(report(train, calls)))
    alone = calls["model alone"]
    figures: dict[str, object] = {  # the model's own, whatever the rules do
        "folds": FOLDS,
        "budget": args.budget,
        "roc_auc": round(auc, 4),
        "recall": round(float(alone[train.labels == 1].mean()), 4),
        "false_crisis": round(float(alone[train.ordinary].mean()), 4),
    }

    fitted = fit(settings, train.texts, train.labels)
    data = export(fitted, settings, threshold, train.texts, figures)
    model = RiskModel.from_dict(data)
    ours = np.array([model.probability(e.text) for e in train.examples])
    theirs = sklearn_probabilities(data, train.texts)
    gap = float(np.abs(ours - theirs).max())
    print(f"model: {model.size} n-grams; pure-Python scorer vs scikit-learn: max gap {gap:.1e}")
    if gap > 1e-6:
        print("FAILED: the scorer does not reproduce scikit-learn", file=sys.stderr)
        return 1
    median, p99 = timings_ms(model.score, [e.text for e in train.examples])
    print(f"scoring time: median {median:.3f} ms, p99 {p99:.3f} ms")
    if not args.no_write:
        text = json.dumps(data, ensure_ascii=True, separators=(",", ":")) + "\n"
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out} ({len(text) / 1024:.0f} KiB)")
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.dev:
        measure(model, veto, "*.dev.tsv", "development files")
    if args.heldout:
        measure(model, veto, "*.heldout.tsv", "held-out files, measured once at the end")
    return 0


def measure(model: RiskModel, veto: float, pattern: str, name: str) -> None:
    """Every option on other files, with the exported model run through
    ``Detector.assess`` as the engine runs it."""
    corpus = Corpus.read(pattern)
    texts = [e.text for e in corpus.examples]
    probabilities = np.array([model.probability(text) for text in texts])
    print(
        f"{name} ({pattern}): {len(texts)} messages, {int(corpus.labels.sum())} crisis, "
        f"{int(corpus.ordinary.sum())} ordinary; nothing chosen on them"
    )
    calls = options(corpus, probabilities, model.threshold, veto)
    with_model = {lang: _bare(lang, model) for lang in ("en", "cy")}
    found = [with_model[e.lang].assess(e.text).crisis for e in corpus.examples]
    engine = np.array([crisis is not None for crisis in found])
    assert (engine == calls["(b) rules + model safety net"]).all(), "Detector disagrees"
    print("\n".join(report(corpus, calls)))
    for label, detector in (("rules only", _bare("en")), ("rules + model", with_model["en"])):
        median, p99 = timings_ms(detector.assess, texts)
        print(f"  Detector.assess, {label}: median {median:.2f} ms, p99 {p99:.2f} ms")
    print("  escalations by the model:")
    for example, crisis in zip(corpus.examples, found, strict=True):
        if crisis is not None and crisis.rule == MODEL_RULE:
            print(f"    [{example.label}] {example.text!r} -> {crisis.topic} {crisis.matched!r}")


if __name__ == "__main__":
    sys.exit(main())
