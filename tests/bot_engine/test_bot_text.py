"""The text pipeline: normalising, the phrase language, and typo correction."""

from __future__ import annotations

import re

import pytest

from bot_engine.mutations import welsh_forms
from bot_engine.normalise import Normaliser, fold, letters_pattern, squeeze, unleet
from bot_engine.phrases import PhraseError, at_least, compile_phrases, phrase_pattern
from bot_engine.spelling import Speller


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("KÍLL", "kill"),
        ("\u043a\u0456ll", "kill"),  # Cyrillic ka and i
        ("\u1d0b\u026a\u029f\u029f", "kill"),  # small capitals
        ("\uff4b\uff49\uff4c\uff4c", "kill"),  # full width
        ("k\u200bi\u00adll", "kill"),  # invisible characters
        ("can\u2019t", "cant"),
        ("Cymraeg: ŵ ŷ â", "cymraeg: w y a"),
        ("k\u0336i\u0336l\u0336l\u0336", "kill"),  # strike-through marks
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_emoji_become_words() -> None:
    assert "knife" in fold("\U0001f52a")
    assert "pill" in fold("\U0001f48a")
    assert "rope" in fold("\U0001faa2")
    assert "crying face" in fold("\U0001f622")


def test_unleet_keeps_numbers_and_reads_letters() -> None:
    assert unleet("su1c1de k!ll $elf h@ng 0verd0se") == "suicide kill self hang overdose"
    assert unleet("ki11 30 x20 20x") == "kill 30 20 20"
    assert unleet("ki1l", one="l") == "kill"
    assert unleet("wait!") == "wait!"


def test_squeeze() -> None:
    assert squeeze("diiiiie!!! now...") == "diie now"
    assert squeeze("noose") == "noose"


def test_normaliser_rewrites_and_variants() -> None:
    normaliser = Normaliser(
        [("wanna", "want to"), ("2", "to"), ("do not", "dont"), ("sum1", "someone")]
    )
    assert normaliser.canonical("I wannna go 2 bed") == "i want to go to bed"
    assert normaliser.canonical("I do not know") == "i dont know"
    assert normaliser.canonical("sum1") == "someone"
    assert normaliser.variants("ki1l") == ("kiil", "kill")
    assert normaliser.variants("hello") == ("hello",)
    assert Normaliser([("!!!", "x")]).canonical("hi") == "hi"


def test_letters_pattern() -> None:
    pattern = re.compile(letters_pattern("kill", inner_spaces=True))
    assert pattern.fullmatch("kiiiill")
    assert pattern.fullmatch("k i l l")
    assert pattern.fullmatch("kills")
    assert not pattern.fullmatch("kil")
    assert re.fullmatch(letters_pattern("to", inner_spaces=False), "tooo")
    assert re.fullmatch(letters_pattern("too", inner_spaces=False), "to") is None


@pytest.mark.parametrize("number", [0, 1, 9, 10, 19, 30, 99, 100, 250, 1000])
def test_at_least(number: int) -> None:
    pattern = re.compile(f"^{at_least(number)}$")
    for candidate in range(0, 1200):
        assert bool(pattern.match(str(candidate))) == (candidate >= number)


def test_phrase_language() -> None:
    lists = {"pills": ["pills", "sleeping tablets"], "adverb": ["really", "so"]}
    pattern = compile_phrases(
        [
            "kill/killing myself",
            "[i] dont want to (live/be alive)",
            "{big_number} {pills}",
            "end it ... tonight",
            "want to [{adverb}] die",
            "{number} kms",
        ],
        lists=lists,
        normaliser=Normaliser([("do not", "dont")]),
    )
    for text in [
        "killing myself",
        "i dont want to be alive",
        "dont want to live",
        "took 40 sleeping tablets",
        "end it all right tonight",
        "want to really die",
        "want to die",
        "5 kms",
    ]:
        assert pattern.search(text), text
    for text in ["skill myself", "took 3 pills", "end it all of the time tonight", "want to diet"]:
        assert not pattern.search(text), text


def test_phrase_rewrites_apply_to_phrases_too() -> None:
    pattern = compile_phrases(
        ["i do not want to live"], normaliser=Normaliser([("do not", "dont")])
    )
    assert pattern.search("i dont want to live")


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("{pils} now", "unknown word list {pils}"),
        ("[just]", "at least one word"),
        ("...", "at least one word"),
        ("kill [myself", "unbalanced"),
        ("kill ) myself", "unbalanced"),
        ("kill [] myself", "empty"),
        ("kill/ myself", "stray '/'"),
        ("kill (!!!)", "no letters or digits"),
        ("{empty}", "is empty"),
    ],
)
def test_phrase_errors(phrase: str, message: str) -> None:
    with pytest.raises(PhraseError, match=re.escape(message)):
        phrase_pattern(phrase, lists={"empty": []})


def test_compile_phrases_needs_a_phrase() -> None:
    with pytest.raises(PhraseError):
        compile_phrases([])


def test_speller_corrects_unknown_words_towards_the_vocabulary() -> None:
    words = Speller(["suicide", "paracetamol", "noose", "overdose", "myself"], keep=["overdoes"])
    assert words.correct("thinking about sucide") == "thinking about suicide"
    assert words.correct("parcetamoll") == "paracetamol"
    assert words.correct("sucidle") == "suicide"  # two slips in a long word
    assert words.correct("myslef") == "myself"  # letters swapped
    assert words.correct("ovredose") == "overdose"
    assert words.correct("ovredose") == "overdose"  # cached
    assert words.correct("123456") == "123456"


def test_speller_never_turns_a_real_word_into_a_crisis_word() -> None:
    words = Speller(["noose", "overdose", "suicide", "hanging", "dies"], keep=["overdoes"])
    assert words.correct("nose") == "nose"  # an English word stays as it is
    assert words.correct("overdone") == "overdone"
    assert words.correct("changing") == "changing"
    assert words.correct("overdoes") == "overdoes"  # kept by the trigger file
    assert words.correct("xuicidz") == "xuicidz"  # two slips need the same first letter
    assert words.correct("dyes") == "dyes"  # short words are never corrected


def test_welsh_mutations() -> None:
    assert welsh_forms("bywyd") == ("bywyd", "fywyd", "mywyd")
    assert welsh_forms("tabledi") == ("tabledi", "dabledi", "nhabledi", "thabledi")
    assert welsh_forms("cwnselydd") == ("cwnselydd", "gwnselydd", "nghwnselydd", "chwnselydd")
    assert welsh_forms("lladd") == ("lladd", "ladd")
    assert welsh_forms("rhaff") == ("rhaff", "raff")
    assert welsh_forms("gorddos") == ("gorddos", "orddos", "ngorddos")
    assert welsh_forms("enw") == ("enw", "henw")


def test_a_trigger_set_without_negators() -> None:
    from bot_engine.problems import ProblemLog
    from bot_engine.triggers import TriggerSet, TriggerSource

    log = ProblemLog()
    data: dict[str, object] = {"request": [{"rule": "typed", "phrases": ["a human"]}]}
    triggers = TriggerSet.build([TriggerSource("t.toml", data)], log)
    assert log.items == []
    match = triggers.detect("I don't want a human")
    assert match is not None
    assert match.rule == "request:typed"


def test_anchors_and_parts_in_any_order() -> None:
    from bot_engine.problems import ProblemLog
    from bot_engine.triggers import TriggerSet, TriggerSource

    data: dict[str, object] = {
        "crisis": [{"rule": "combo", "phrases": ["jump & bridge/roof", "^end it$"]}],
        "request": [{"rule": "typed", "phrases": ["^human$"], "exclude": ["only human"]}],
    }
    log = ProblemLog()
    triggers = TriggerSet.build([TriggerSource("t.toml", data)], log)
    assert log.items == []
    combo = triggers.detect("I'm on the roof and I'm going to jump")
    assert combo is not None
    assert combo.matched == "roof … jump"  # the person's own words, in their order
    assert triggers.detect("jump around") is None
    assert triggers.detect("End it.") is not None
    assert triggers.detect("I want to end it with him") is None
    assert triggers.detect("Human!") is not None
    assert triggers.detect("a human") is None


def test_spelt_out_words_are_read_back() -> None:
    normaliser = Normaliser([("cant", "can not")], ["cant", "keep", "myself", "safe", "kill"])
    readings = normaliser.variants("c a n t  k e e p  m y s e l f  s a f e")
    assert "can not keep myself safe" in readings
    assert normaliser.segment("kiillmyself") == "kill myself"
    assert normaliser.segment("xyz") == "x y z"
    assert normaliser.segment("a" * 200) == "a" * 200
    assert Normaliser().segment("kill") == "kill"


def test_built_trigger_sets_are_reused_and_bounded() -> None:
    from bot_engine import detection
    from bot_engine.problems import ProblemLog
    from bot_engine.triggers import TriggerSource

    log = ProblemLog()
    sets = []
    for number in range(detection._BUILT_LIMIT + 2):
        source = TriggerSource(
            "t.toml", {"crisis": [{"rule": "r", "phrases": [f"word{number}"]}, 1]}
        )
        sets.append(detection.build_trigger_sets({}, {"en": source}, set(), log)["en"].primary)
        again = detection.build_trigger_sets({}, {"en": source}, set(), log)["en"].primary
        assert again is sets[-1]
    assert len(detection._BUILT) <= detection._BUILT_LIMIT
    assert "t.toml:crisis[1]:-: must be a table of keys and values" in [str(p) for p in log.items]
