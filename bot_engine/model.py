"""The statistical crisis model: a linear classifier over character and word n-grams.

The rules in ``triggers.py`` say exactly why they matched; a model can recognise a
crisis written in words no list has. ``scripts/train_risk_model.py`` trains it with
scikit-learn at development time, on the ``*.train.tsv`` files of ``tests/corpus``,
and exports its weights to ``bot_engine/data/risk_model.json``. This module scores a
message with those weights in plain Python (no numpy or scikit-learn at run time),
reproducing scikit-learn's ``TfidfVectorizer`` (``char_wb`` and ``word`` analyzers,
binary counts, idf, l2 norm per block) and ``LogisticRegression`` exactly, and says
which words contributed most, so that an escalation by the model still names its
evidence in the person's own words. See docs/safeguarding.md, "Detection: rules and
the statistical model", for how it is combined with the rules and why.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot_engine.normalise import fold, squeeze, unleet
from bot_engine.types import RiskTopic

MODEL_FILE = Path(__file__).resolve().parent / "data" / "risk_model.json"
FORMAT_VERSION = 1
READING = "fold-unleet-squeeze"
_MAX_TEXT = 4000  # characters scored; the start of a very long message is enough
_WHITE_SPACE = re.compile(r"\s\s+")
_EVIDENCE_SPAN = 6  # words: the evidence is the heaviest run of at most this many
_WORDS_REMEMBERED = 20_000  # words whose n-grams are kept between messages


class ModelError(ValueError):
    """A model file that cannot be used; the message says what is wrong."""


def reading(text: str) -> str:
    """The text the model sees: folded, leetspeak read as letters, symbols as spaces.

    Independent of any trigger file, so that training and run time see the same text
    whatever rewrites a deployment adds.
    """
    return squeeze(unleet(fold(text[:_MAX_TEXT])))


def words_of(token: str) -> list[str]:
    """The words of the model's reading that one typed token stands for."""
    return reading(token).split()


@dataclass(frozen=True, slots=True)
class ModelScore:
    """The model's view of one message.

    ``probability`` is the probability of a crisis; ``crisis`` says it reaches the
    model's threshold; ``words`` are the run of words of the reading (at most six) that pushed it up
    most; ``topic`` is ``self_harm`` when they match the model's self-harm pattern,
    else ``suicide``.
    """

    probability: float
    crisis: bool
    words: tuple[str, ...]
    topic: RiskTopic


@dataclass(frozen=True, slots=True)
class _Block:
    """One vectorizer: its analyzer, n-gram range and weights per n-gram.

    ``weights`` maps an n-gram to ``(idf squared, coefficient times idf)``: the first
    for the l2 norm of the block, the second for the decision.
    """

    analyzer: str
    low: int
    high: int
    token: re.Pattern[str] | None
    weights: Mapping[str, tuple[float, float]]
    _known: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def grams(self, words: list[str]) -> dict[str, list[int]]:
        """The block's n-grams in ``words`` that the model weighs, with the positions
        of the words each comes from (a word n-gram belongs to each of its words)."""
        found: dict[str, list[int]] = {}
        if self.analyzer == "char_wb":
            for index, word in enumerate(words):
                for gram in self._of_word(word):
                    where = found.get(gram)
                    if where is None:
                        found[gram] = [index]
                    elif where[-1] != index:
                        where.append(index)
            return found
        for start in range(len(words)):
            for size in range(self.low, self.high + 1):
                if start + size > len(words):
                    break
                gram = " ".join(words[start : start + size])
                if gram in self.weights:
                    where = found.setdefault(gram, [])
                    where += [i for i in range(start, start + size) if i not in where]
        return found

    def _of_word(self, word: str) -> tuple[str, ...]:
        """The weighed char_wb n-grams of one word (remembered: words recur)."""
        known = self._known.get(word)
        if known is None:
            weights = self.weights
            known = tuple(
                dict.fromkeys(g for g in _char_wb(word, self.low, self.high) if g in weights)
            )
            if len(self._known) >= _WORDS_REMEMBERED:
                self._known.clear()
            self._known[word] = known
        return known

    def tokens(self, text: str) -> list[str]:
        if self.analyzer == "char_wb":
            return _WHITE_SPACE.sub(" ", text).split()
        assert self.token is not None
        return self.token.findall(text)


def _char_wb(word: str, low: int, high: int) -> list[str]:
    """scikit-learn's ``char_wb`` n-grams of one word, padded with a space each side."""
    padded = f" {word} "
    size = len(padded)
    grams: list[str] = []
    for n in range(low, high + 1):
        offset = 0
        grams.append(padded[:n])
        while offset + n < size:
            offset += 1
            grams.append(padded[offset : offset + n])
        if offset == 0:  # a word shorter than n counts once
            break
    return grams


class RiskModel:
    """A trained model, loaded from its JSON file (see ``scripts/train_risk_model.py``)."""

    def __init__(
        self,
        blocks: tuple[_Block, ...],
        intercept: float,
        threshold: float,
        self_harm: re.Pattern[str],
        version: str,
    ) -> None:
        self._blocks = blocks
        self.intercept = intercept
        self.threshold = threshold
        self._self_harm = self_harm
        self.version = version

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> RiskModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ModelError(f"{path}: {error}") from error
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: object, where: str = "model") -> RiskModel:
        """A model from the parsed JSON; ``ModelError`` names what does not fit."""
        try:
            if not isinstance(data, dict):
                raise TypeError("not an object")
            if data["format"] != FORMAT_VERSION or data["reading"] != READING:
                raise ValueError(f"format {data['format']} / reading {data['reading']!r}")
            blocks = tuple(_block(entry) for entry in data["blocks"])
            self_harm = re.compile(str(data["self_harm_pattern"]))
            return cls(
                blocks,
                float(data["intercept"]),
                float(data["threshold"]),
                self_harm,
                str(data["version"]),
            )
        except (KeyError, TypeError, ValueError, re.error) as error:
            raise ModelError(f"{where}: unusable model ({error!r})") from error

    @property
    def size(self) -> int:
        """How many n-grams the model weighs."""
        return sum(len(block.weights) for block in self._blocks)

    def probability(self, text: str) -> float:
        """The probability that ``text`` is a crisis message."""
        return self._score(reading(text))[0]

    def score(self, text: str) -> ModelScore:
        """The probability, the decision and the phrase that weighed most."""
        plain = reading(text)
        probability, words, pushes = self._score(plain)
        start, end = _heaviest_run(pushes, _EVIDENCE_SPAN)
        evidence = tuple(words[start:end])
        return ModelScore(
            probability,
            probability >= self.threshold,
            evidence,
            RiskTopic.SELF_HARM if self._about_self_harm(plain, pushes) else RiskTopic.SUICIDE,
        )

    def _about_self_harm(self, plain: str, pushes: list[float]) -> bool:
        """Whether self-harm words pushed the score up: a match of the self-harm
        pattern whose every word has a positive push."""
        for match in self._self_harm.finditer(plain):
            first = plain.count(" ", 0, match.start())
            last = first + match.group(0).count(" ")
            if all(push > 0 for push in pushes[first : last + 1]):
                return True
        return False

    def _score(self, plain: str) -> tuple[float, list[str], list[float]]:
        """Probability, the words of ``plain`` and how much each word pushed it up.

        An n-gram's share of the decision is split evenly among the words it comes
        from. The reading holds only letters, digits and single spaces, so every
        block's tokens are its words.
        """
        words = plain.split()
        pushes = [0.0] * len(words)
        decision = self.intercept
        for block in self._blocks:
            tokens = block.tokens(plain)
            aligned = len(tokens) == len(words)
            weights = block.weights
            squares = total = 0.0
            raw = [0.0] * len(words)
            for gram, where in block.grams(tokens).items():
                square, push = weights[gram]
                squares += square
                total += push
                if aligned:
                    share = push / len(where)
                    for index in where:
                        raw[index] += share
            if squares:
                norm = math.sqrt(squares)
                decision += total / norm
                for index, push in enumerate(raw):
                    pushes[index] += push / norm
        return _sigmoid(decision), words, pushes


def _block(entry: object) -> _Block:
    if not isinstance(entry, dict):
        raise TypeError("a block must be an object")
    analyzer = str(entry["analyzer"])
    if analyzer not in ("char_wb", "word"):
        raise ValueError(f"unknown analyzer {analyzer!r}")
    low, high = (int(n) for n in entry["ngram_range"])
    if not 1 <= low <= high:
        raise ValueError(f"bad ngram_range {low}, {high}")
    token = re.compile(str(entry["token_pattern"])) if analyzer == "word" else None
    features = entry["features"]
    if not isinstance(features, dict):
        raise TypeError("features must be an object")
    weights = {
        str(gram): (float(idf) * float(idf), float(coef) * float(idf))
        for gram, (idf, coef) in features.items()
    }
    return _Block(analyzer, low, high, token, weights)


def _heaviest_run(pushes: list[float], longest: int) -> tuple[int, int]:
    """The run of at most ``longest`` words with the largest total push, as a slice;
    it starts and ends with a word that pushed up (empty when none did)."""
    best, best_total = (0, 0), 0.0
    for start, first in enumerate(pushes):
        if first <= 0:
            continue
        total = 0.0
        for end in range(start, min(len(pushes), start + longest)):
            total += pushes[end]
            if pushes[end] > 0 and total > best_total:
                best, best_total = (start, end + 1), total
    return best


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    small = math.exp(value)
    return small / (1.0 + small)


@functools.cache
def packaged_model() -> RiskModel:
    """The model shipped with the engine, loaded once; a broken file is a bug."""
    return RiskModel.load(MODEL_FILE)
