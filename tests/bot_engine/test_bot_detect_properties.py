"""Property tests: a crisis phrase stays detected whatever disguise it wears.

Hypothesis changes the case of letters, the spacing between and inside words,
stretches letters, swaps letters for look-alikes from other alphabets or leetspeak,
and wraps the phrase in other words. The detector must still say "crisis".
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from bot_engine import detect

CRISIS_PHRASES = [
    "kill myself",
    "i want to die",
    "suicide",
    "suicidal",
    "end my life",
    "hurt myself",
    "overdose",
    "self harm",
    "i dont want to live",
    "no reason to live",
    "unalive myself",
    "take my own life",
    "cut myself",
    "better off without me",
    "cant go on",
    "cant keep myself safe",
    "hang myself",
    "goodbye letter",
]
REQUEST_PHRASES = ["talk to a real person", "can i speak to a counsellor", "human please"]
SURROUNDING = ["honestly", "today", "lol", "and", "so", "tbh", "ugh", "please", "x", "right", "now"]

# Letters from other alphabets, and leetspeak, that people use to disguise words.
LOOK_ALIKES = {
    "a": ["\u0430", "\u03b1", "4", "@"],
    "c": ["\u0441"],
    "d": ["\u0501"],
    "e": ["\u0435", "\u03b5", "3"],
    "h": ["\u04bb"],
    "i": ["\u0456", "\u03b9", "1"],
    "k": ["\u043a", "\u03ba"],
    "l": ["\u04cf"],
    "m": ["\u043c"],
    "o": ["\u043e", "\u03bf", "0"],
    "p": ["\u0440", "\u03c1"],
    "s": ["\u0455", "5", "$"],
    "t": ["\u0442", "7"],
    "u": ["\u03c5"],
    "w": ["\u051d"],
    "x": ["\u0445"],
    "y": ["\u0443"],
}
BETWEEN_WORDS = [" ", "  ", "\t", " \n ", " - ", " , ", ""]
INSIDE_WORDS = [" ", ".", "-", "*", "_"]

settings.register_profile("bot_engine", max_examples=120, deadline=None)
settings.load_profile("bot_engine")


@st.composite
def disguised_word(draw: st.DrawFn, word: str) -> str:
    letters: list[str] = []
    for char in word:
        out = char.upper() if draw(st.booleans()) else char
        options = LOOK_ALIKES.get(char.lower(), [])
        swap: str | None = None
        if len(options) > 0 and draw(st.booleans()):
            swap = draw(st.sampled_from(options))
        repeat = draw(st.integers(min_value=1, max_value=4)) if draw(st.booleans()) else 1
        if swap is not None:
            out = swap
            if swap == "1":  # a run of "1" reads as "ll"
                repeat = 1
        letters.append(out * repeat)
    if not any(piece.isalpha() for piece in letters):  # an all-digit word is a number
        letters = list(word)
    if len(word) > 2 and draw(st.integers(min_value=0, max_value=4)) == 0:
        return draw(st.sampled_from(INSIDE_WORDS)).join(letters)
    return "".join(letters)


def _spelt(word: str) -> bool:
    return any(sep in word for sep in INSIDE_WORDS)


@st.composite
def disguised(draw: st.DrawFn, phrases: list[str]) -> str:
    phrase = draw(st.sampled_from(phrases))
    words = [draw(disguised_word(word)) for word in phrase.split()]
    text = words[0]
    for previous, word in itertools.pairwise(words):
        between = draw(st.sampled_from(BETWEEN_WORDS))
        if not between and (_spelt(previous) or _spelt(word) or len(words) > 2):
            # Glued words are fine in pairs ("killmyself"); "c u t" + "m y" would run
            # letters together as "tm", and "iwanttodie" is beyond what anyone reads.
            between = " "
        text += between + word
    before = draw(st.lists(st.sampled_from(SURROUNDING), max_size=4))
    after = draw(st.lists(st.sampled_from(SURROUNDING), max_size=4))
    joiner = draw(st.sampled_from([" ", ", ", ". ", "... ", "\n"]))
    return joiner.join([" ".join(before), text, " ".join(after)]).strip()


@given(disguised(CRISIS_PHRASES))
def test_disguised_crisis_phrases_are_detected(text: str) -> None:
    match = detect(text)
    assert match is not None, text
    assert match.kind == "crisis", text


@given(
    st.sampled_from(CRISIS_PHRASES),
    st.sampled_from(["i'm not sure ", "not ", "i don't think ", "never "]),
)
def test_negation_in_front_never_silences(phrase: str, negation: str) -> None:
    match = detect(negation + phrase)
    assert match is not None
    assert match.kind == "crisis"


@given(
    st.sampled_from(REQUEST_PHRASES),
    st.lists(st.sampled_from(["hi", "hello", "please", "ok", "now"]), max_size=3),
    st.booleans(),
)
def test_requests_survive_case_and_surrounding_words(
    phrase: str, extra: list[str], upper: bool
) -> None:
    text = " ".join([*extra, phrase.upper() if upper else phrase, *extra])
    match = detect(text)
    assert match is not None, text
    assert match.kind == "request"


@given(st.text(max_size=300))
def test_any_text_is_safe_to_check(text: str) -> None:
    match = detect(text)
    assert match is None or match.kind in ("crisis", "request")
