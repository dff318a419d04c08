"""The trigger detector beyond the shared cases: disguised spellings, slang,
euphemisms, methods, negation, look-alike letters, emoji, Welsh, and the everyday
phrases that must not raise an alarm."""

from __future__ import annotations

import time

import pytest

from bot_engine import BotEngine, Priority, detect
from bot_engine.detection import base_locale, detector_for

CRISIS = [
    "i wanna die",
    "I want to die so badly",
    "i just want to end it all",
    "thinking of ending my life",
    "im going to kill myself tonight",
    "i've been self harming",
    "i keep hurting myself",
    "k.i.l.l m y s e l f",
    "su1c1de",
    "I w4nt t0 d1e",
    "i want to diiiiie",
    "\u043ai\u04cf\u04cf my\u0455elf",
    # mathematical bold letters
    "\U0001d424\U0001d422\U0001d425\U0001d425 "
    "\U0001d426\U0001d432\U0001d42c\U0001d41e\U0001d425\U0001d41f",
    "\uff4b\uff49\uff4c\uff4c \uff4d\uff59\uff53\uff45\uff4c\uff46",
    "k\u200bi\u200bl\u200bl myself",
    "i want to \U0001f52a myself",
    "\U0001f48a\U0001f48a\U0001f48a\U0001f48a\U0001f48a",
    "i've got the \U0001faa2 ready",
    "I took 30 paracetamol",
    "i swallowed a whole box of sertraline",
    "took loads of pills",
    "i'm going to take all my tablets",
    "i have been stockpiling my meds",
    "i am on the bridge now",
    "im going to jump off a bridge",
    "i want to throw myself in front of a train",
    "standing on the train tracks",
    "sucidal thoughts",
    "I've been thinking about suicde",
    "ovredosed on my mums pills",
    "i dont want to live anymore",
    "I don't want to be here anymore",
    "everyone would be better off if i was dead",
    "no one would miss me if i was gone",
    "there's no reason to live",
    "i can't go on",
    "i cant keep myself safe tonight",
    "i cant do this anymore",
    "i want to unalive",
    "unaliving myself",
    "i wrote a suicide note",
    "i'm saying goodbye to everyone",
    "i've been giving away my things",
    "life isn't worth living",
    "nothing to live for",
    "i wish i was dead",
    "i wish i'd never been born",
    "I want to disappear forever",
    "i've tied a noose",
    "i want to hang myself",
    "I'm gonna kms",
    "i od'd last night",
    "I don't want to die but I can't keep going",
    "I'm n0t ok, i w@nt t0 k!ll mys3lf",
    "I WANT TO DIE",
    "i want to d.i.e",
    "self-harm",
    "i could just end it",
    "i'm tired of living",
    "what's the point in living",
    "i hope i don't wake up tomorrow",
    "kill myself lol",
    "i should kys",
    "my friend says she wants to kill herself",
]

REQUEST = [
    "can i talk to someone",
    "i want to speak to a human",
    "human please",
    "real person please",
    "is there a counsellor available",
    "counselor",
    "can i speak with a volunteer",
    "are you a bot?",
    "am i talking to a robot",
    "i need a real person",
    "put me through to an agent",
    "let me talk to a person",
    "agent please",
    "can I chat to a human",
    "is anyone there",
    "someone real please",
    "can i talk to sum1",
]

NONE = [
    "I killed it at the gym",
    "my sister is skilled at painting",
    "this homework is killing me lol",
    "dying to see the film",
    "that cake is to die for",
    "just killing time",
    "the bridge of my nose hurts",
    "i had a killer workout",
    "we walked over the bridge to town",
    "i take my meds every morning",
    "i took 2 paracetamol for my headache",
    "i ran 5 kms today",
    "i'm a terrible person",
    "i'm only human",
    "i want to live a better life",
    "i'm overwhelmed with work",
    "my phone died",
    "i'm going to end it with my boyfriend",
    "i feel odd today",
    "i overdid it at the gym",
    "i don't want to talk to a person",
    "i talked to my friend about it",
    "i want to die my hair blue",
    "thanks for the help",
    "I don't know what to say",
]


@pytest.mark.parametrize("text", CRISIS)
def test_crisis_is_detected(text: str) -> None:
    match = detect(text)
    assert match is not None, text
    assert match.kind == "crisis"
    assert match.priority == Priority.CRISIS


@pytest.mark.parametrize("text", REQUEST)
def test_request_is_detected(text: str) -> None:
    match = detect(text)
    assert match is not None, text
    assert (match.kind, match.priority, match.rule) == (
        "request",
        Priority.REQUESTED,
        "request:typed",
    )


@pytest.mark.parametrize("text", NONE)
def test_everyday_phrases_stay_quiet(text: str) -> None:
    # The lists; the statistical model under them is held to a rate on these phrases
    # in test_bot_model.py.
    assert detector_for("en").rules(text).match is None


@pytest.mark.parametrize(
    "text",
    [
        "I'm not sure I won't hurt myself",
        "I don't want to live",
        "i'm not going to kill myself, i just don't want to be alive",
        "never mind, i want to die",
        "no, I don't think I can keep myself safe",
    ],
)
def test_negation_never_silences_a_crisis(text: str) -> None:
    match = detect(text)
    assert match is not None
    assert match.kind == "crisis"


def test_crisis_wins_over_a_request() -> None:
    match = detect("please can I talk to a counsellor, I want to die")
    assert match is not None
    assert match.kind == "crisis"


def test_rule_and_matched_text_explain_the_match() -> None:
    match = detect("I took 30 paracetamol an hour ago")
    assert match is not None
    assert match.rule == "crisis:method:overdose"
    assert match.matched == "30 paracetamol"
    hanging = detect("i have a noose")
    assert hanging is not None
    assert hanging.rule == "crisis:method:hanging"


def test_welsh_triggers_and_english_in_a_welsh_chat() -> None:
    cases = {
        "Dw i eisiau marw": "crisis",
        "dwi isio marw": "crisis",
        "dw i wedi bod yn brifo fy hun": "crisis",
        "Rydw i wedi cymryd 40 parasetamol": "crisis",
        "I want to kill myself": "crisis",
        "Ga i siarad â pherson go iawn?": "request",
        "Wyt ti'n fot?": "request",
    }
    for text, kind in cases.items():
        match = detect(text, "cy")
        assert match is not None, text
        assert match.kind == kind
    assert detect("Dw i ddim eisiau siarad â pherson", "cy") is None
    assert detect("dw i'n hapus heddiw", "cy") is None


def test_unknown_locales_use_english() -> None:
    assert base_locale("cy-GB") == "cy"
    assert base_locale("EN_gb") == "en"
    assert base_locale("") == "en"
    assert base_locale("12") == "en"
    match = detect("I want to die", "xx")
    assert match is not None
    assert match.kind == "crisis"


def test_engine_detect_matches_the_packaged_lists(engine: BotEngine) -> None:
    match = engine.detect("i want to end my life", "cy-GB")
    assert match is not None
    assert match.kind == "crisis"
    assert engine.detect("hello there") is None


def test_long_messages_are_checked_quickly() -> None:
    texts = ["kill " * 800, "a b c d e " * 400, "k i l l m y s e l " * 200, "x" * 4000]
    started = time.thread_time()  # CPU time: the tests run beside others on shared cores
    for text in texts:
        detect(text)
    assert time.thread_time() - started < 2.0
    assert detect(("la " * 1000) + "i want to die") is not None
