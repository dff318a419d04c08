"""The statistical crisis model: its pure-Python scorer (against scikit-learn), its
evidence, and the Detector's use of it as a safety net under the rules."""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import pytest

from bot_engine.detection import MODEL_RULE, USE_MODEL, Detector, detect, detector_for
from bot_engine.evaluate import read_corpus
from bot_engine.model import MODEL_FILE, ModelError, RiskModel, packaged_model, reading
from bot_engine.problems import ProblemLog
from bot_engine.triggers import TriggerSet, TriggerSource
from bot_engine.types import RiskLevel, RiskTopic

CORPUS = Path(__file__).parents[1] / "corpus"
TRAINER = Path(__file__).parents[2] / "scripts" / "train_risk_model.py"
TRAIN = read_corpus(sorted(CORPUS.glob("*.train.tsv")))

# Crisis messages the packaged model scores far above its threshold.
CAUGHT = (
    "my last attempt was 2 weeks ago and i still want to die, im going to try again",
    "going to commit s*icide tomorrow",
)


def _triggers(data: dict[str, object]) -> TriggerSet:
    log = ProblemLog()
    triggers = TriggerSet.build([TriggerSource("test.toml", data)], log)
    log.raise_if_errors()
    return triggers


NO_RULES = _triggers({})
RULES = _triggers(
    {
        "crisis": [{"rule": "suicidal", "phrases": ["suicidal"], "level": "concern"}],
        "safe": [{"rule": "denial", "phrases": ["im not suicidal"]}],
    }
)


def _tiny(intercept: float, features: dict[str, float], threshold: float = 0.5) -> RiskModel:
    """A model of word unigrams with idf 1: easy to reason about in a test."""
    return RiskModel.from_dict(
        {
            "format": 1,
            "version": "test",
            "reading": "fold-unleet-squeeze",
            "threshold": threshold,
            "intercept": intercept,
            "self_harm_pattern": r"\b(?:cut\w*|blades?)\b",
            "blocks": [
                {
                    "analyzer": "word",
                    "ngram_range": [1, 1],
                    "token_pattern": r"(?u)\b\w+\b",
                    "features": {word: [1.0, weight] for word, weight in features.items()},
                }
            ],
        }
    )


# ---------------------------------------------------------------- the scorer


def test_packaged_model_loads_with_its_settings() -> None:
    model = packaged_model()
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert 0.5 < model.threshold < 1
    assert model.threshold == data["threshold"]
    assert 1000 < model.size == sum(len(b["features"]) for b in data["blocks"])
    assert MODEL_FILE.stat().st_size < 1_000_000
    assert data["version"] == model.version


def test_scores_are_deterministic() -> None:
    fresh = RiskModel.load()
    for example in TRAIN[::40]:
        first = packaged_model().score(example.text)
        assert first == packaged_model().score(example.text) == fresh.score(example.text)
        assert 0.0 <= first.probability <= 1.0
        assert first.crisis == (first.probability >= packaged_model().threshold)


def test_evidence_words_are_words_of_the_message() -> None:
    model = packaged_model()
    for example in TRAIN[::7]:
        scored = model.score(example.text)
        words = reading(example.text).split()
        assert len(scored.words) <= 6
        assert all(word in words for word in scored.words), example.text
        if scored.crisis:
            assert scored.words, example.text


@pytest.mark.parametrize("text", CAUGHT)
def test_the_model_catches_crisis_messages(text: str) -> None:
    scored = packaged_model().score(text)
    assert scored.crisis
    assert scored.probability >= packaged_model().threshold


def test_scoring_a_typical_message_takes_well_under_a_millisecond() -> None:
    model = packaged_model()
    texts = [example.text for example in TRAIN[:300]]
    for text in texts:  # warm the cache of words, as a running gateway would have
        model.score(text)
    spent = []
    for text in texts:  # CPU time: the tests run beside others on shared cores
        started = time.thread_time()
        model.score(text)
        spent.append(time.thread_time() - started)
    assert statistics.median(spent) < 0.001


def test_a_broken_model_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text('{"format": 99}', encoding="utf-8")
    with pytest.raises(ModelError, match="unusable"):
        RiskModel.load(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ModelError):
        RiskModel.load(path)


def test_the_scorer_reproduces_scikit_learn() -> None:
    """Every probability of the pure-Python scorer equals scikit-learn's, computed from
    the same exported n-grams, idf and weights, on the whole training corpus."""
    np = pytest.importorskip("numpy")
    pytest.importorskip("sklearn")
    spec = importlib.util.spec_from_file_location("train_risk_model", TRAINER)
    assert spec is not None and spec.loader is not None
    trainer = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = trainer  # its dataclasses look their module up
    spec.loader.exec_module(trainer)

    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    theirs = trainer.sklearn_probabilities(data, [reading(e.text) for e in TRAIN])
    ours = np.array([packaged_model().probability(example.text) for example in TRAIN])
    assert len(ours) > 1000
    assert float(np.abs(ours - theirs).max()) < 1e-6


# ---------------------------------------------------------------- the detector


@pytest.mark.parametrize("text", CAUGHT)
def test_a_model_escalation_names_its_evidence_in_the_persons_words(text: str) -> None:
    detector = Detector(NO_RULES, (), packaged_model())
    assert detector.rules(text).crisis is None
    found = detector.assess(text).crisis
    assert found is not None
    assert found.rule == MODEL_RULE
    assert found.level == RiskLevel.CONCERN
    assert found.topic == RiskTopic.SUICIDE
    assert found.matched
    for piece in found.matched.split(" … "):
        assert piece in text


def test_the_evidence_is_quoted_as_typed() -> None:
    model = _tiny(-2.0, {"tonight": 5.0, "pills": 5.0})
    found = Detector(NO_RULES, (), model).assess("Got the PILLS... t0night!!").crisis
    assert found is not None
    assert found.matched == "PILLS... t0night"


def test_self_harm_words_in_the_evidence_make_it_self_harm() -> None:
    model = _tiny(-2.0, {"cutting": 5.0, "again": 3.0, "worried": 5.0})
    harm = Detector(NO_RULES, (), model).assess("I've started cutting again").crisis
    assert harm is not None
    assert harm.topic == RiskTopic.SELF_HARM
    assert harm.matched == "cutting again"
    other = Detector(NO_RULES, (), model).assess("I am so worried").crisis
    assert other is not None
    assert other.topic == RiskTopic.SUICIDE


def test_a_message_of_fewer_than_four_words_is_not_given_to_the_model() -> None:
    model = _tiny(-2.0, {"now": 9.0})
    assert Detector(NO_RULES, (), model).assess("and now?").crisis is None
    assert Detector(NO_RULES, (), model).assess("what do i do now").crisis is not None


def test_the_model_never_silences_a_rule() -> None:
    never = _tiny(-50.0, {})
    found = Detector(RULES, (), never).assess("i feel suicidal")
    assert found.crisis is not None
    assert found.crisis.rule == "crisis:suicidal"


def test_a_rule_match_comes_before_the_model() -> None:
    always = _tiny(50.0, {"feel": 1.0})
    found = Detector(RULES, (), always).assess("i feel suicidal").crisis
    assert found is not None
    assert found.rule == "crisis:suicidal"


def test_a_clear_denial_is_not_overruled_by_the_model() -> None:
    always = _tiny(50.0, {"suicidal": 1.0})
    found = Detector(RULES, (), always).assess("im not suicidal")
    assert found.denied
    assert found.crisis is None


def test_below_the_threshold_the_model_adds_nothing() -> None:
    model = _tiny(-2.0, {"tired": 1.0})
    found = Detector(NO_RULES, (), model).assess("so tired")
    assert found.crisis is None
    assert found == Detector(NO_RULES).assess("so tired")


# ---------------------------------------------------------------- in the engine


def test_every_packaged_detector_runs_the_model_under_its_rules() -> None:
    assert USE_MODEL  # the decision in docs/safeguarding.md
    for locale in ("en", "cy", "fr"):
        assert detector_for(locale).model is packaged_model()


def test_a_message_the_rules_miss_is_caught_with_its_evidence() -> None:
    """A crisis in words no list has: the packaged detector escalates it at
    ``concern`` and quotes the words that weighed most, as typed."""
    candidates = (
        "i keep looking at the motorway bridge on my way home",
        "i've picked which building, the tall one near the retail park",
    )
    missed = [text for text in candidates if detector_for("en").rules(text).crisis is None]
    if not missed:
        pytest.skip("the lists now catch every example: write a new one they miss")
    for text in missed:
        found = detect(text)
        assert found is not None, text
        assert (found.kind, found.rule, found.level) == ("crisis", MODEL_RULE, RiskLevel.CONCERN)
        assert found.matched
        assert found.matched in text


def test_the_model_rarely_alarms_on_the_projects_ordinary_phrases() -> None:
    """The phrases other tests keep quiet for the lists (idioms, safe contexts,
    denials, everyday talk, many written to sit close to crisis words): the model is
    statistical, so it is held to a rate. When it was adopted it raised 6 of 94
    ("i'm going to jump in the shower", "my nose won't stop bleeding")."""
    from tests.bot_engine import test_bot_detect, test_bot_levels, test_bot_welsh

    phrases = [
        *(("en", text) for text in test_bot_detect.NONE),
        *(("en", text) for text in test_bot_levels.QUIET),
        *(("cy", text) for text in test_bot_welsh.QUIET),
    ]
    alarms = []
    for locale, text in phrases:
        found = detector_for(locale).assess(text).crisis
        if found is not None and found.rule == MODEL_RULE:
            alarms.append(text)
    assert len(alarms) <= 0.1 * len(phrases), alarms
