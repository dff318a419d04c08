"""Whole script sets: translations with English fallback, helpline resources and
their overrides, and a deployment's own trigger phrases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot_engine import BotEngine, Escalate, Reply, SessionEvent, UserMessage
from tests.bot_engine.support import INSTANT, MINI_EN, MINI_RESOURCES, NOW, problems_of

Write = Callable[..., Path]


def test_partial_translation_warns_and_falls_back(write_script: Write) -> None:
    welsh = """
[script]
name = "Cymraeg"

[commands]
teimlad = "menu"

[[node]]
id = "hello"
replies = ["Helo. Cadw'r sgwrs? {phone}"]
labels = { yes = "Ydw" }

[[node]]
id = "menu"
rules = [{ keywords = ["trist"], next = "sad" }]
"""
    directory = write_script(
        {"en.toml": MINI_EN, "cy.toml": welsh, "resources-en.toml": MINI_RESOURCES}
    )
    problems = problems_of(directory)
    assert "cy.toml:hello:labels.no: warning: missing translation (English is shown)" in problems
    assert (
        "cy.toml:sad:replies: warning: missing translation (the English text is shown)" in problems
    )
    assert all("warning:" in p for p in problems)
    engine = BotEngine.load(directory, config=INSTANT)
    assert engine.warnings
    assert engine.locales == ("en", "cy")
    state = engine.new_state("cy")
    result = engine.step(state, SessionEvent("started"), NOW)
    reply = result.outputs[0]
    assert isinstance(reply, Reply)
    assert reply.text == "Helo. Cadw'r sgwrs? 116 123"
    assert [b.label for b in reply.quick_replies] == ["Ydw", "No"]
    state = engine.step(result.state, UserMessage("Ydw", "yes"), NOW).state
    sad = engine.step(state, UserMessage("dw i'n drist iawn, trist"), NOW)
    assert sad.state.node == "sad"
    assert next(o.text for o in sad.outputs if isinstance(o, Reply)) == "Sorry you feel sad."
    assert engine.step(state, UserMessage("!teimlad"), NOW).state.node == "menu"


def test_translation_mistakes(write_script: Write) -> None:
    welsh = """
[[node]]
id = "nope"
replies = ["x"]

[[node]]
id = "hello"
labels = { maybe = "Efallai", yes = "" }
rules = [{ keywords = ["ie"], next = "nowhere" }]

[[node]]
id = "hello"
replies = ["twice"]

[commands]
x = "nowhere"
"""
    problems = problems_of(
        write_script({"en.toml": MINI_EN, "cy.toml": welsh, "resources-en.toml": MINI_RESOURCES})
    )
    for expected in [
        "cy.toml:nope:id: no node with this id in en.toml",
        "cy.toml:hello:labels.maybe: no choice with this value",
        "cy.toml:hello:labels.yes: must be non-empty text",
        "cy.toml:hello:rules[0].next: unknown target node 'nowhere'",
        "cy.toml:hello:id: duplicate node id: this node is translated twice",
        "cy.toml:(commands):x: unknown target node 'nowhere'",
    ]:
        assert expected in problems, problems


def test_resources_problems_and_overrides(write_script: Write) -> None:
    bad = """
[variables]
"Bad-Name" = "x"
phone = ["list"]

[[directory]]
name = "No contact"
"""
    problems = problems_of(write_script({"en.toml": MINI_EN, "resources-en.toml": bad}))
    assert (
        "resources-en.toml:(variables):Bad-Name: variable names use a-z, 0-9 and _ only" in problems
    )
    assert "resources-en.toml:(variables):phone: must be text" in problems
    assert "resources-en.toml:directory[0]:contact: is required" in problems

    script = write_script({"en.toml": MINI_EN, "resources-en.toml": MINI_RESOURCES}, name="s")
    override = write_script({"resources-en.toml": '[variables]\nphone = "0800 000"\n'}, name="o")
    engine = BotEngine.load(script, config=INSTANT, resources=override)
    result = engine.step(engine.new_state("en"), SessionEvent("started"), NOW)
    assert isinstance(result.outputs[0], Reply)
    assert result.outputs[0].text.endswith("0800 000")
    stray = write_script({"en.toml": "x = 1"}, name="stray")
    assert problems_of(script, stray) == [
        "en.toml:-:-: unknown file: expected resources-<locale>.toml"
    ]


def test_extra_trigger_phrases_for_a_deployment(write_script: Write) -> None:
    extra = """
[words]
places = ["the quarry", "the old pier"]

[[crisis]]
rule = "local:places"
phrases = ["{places} [right] now", "jump off {places}"]

[[request]]
rule = "typed"
phrases = ["duty worker"]
"""
    directory = write_script(
        {"en.toml": MINI_EN, "resources-en.toml": MINI_RESOURCES, "triggers-en.toml": extra}
    )
    engine = BotEngine.load(directory, config=INSTANT)
    match = engine.detect("i'm at the old pier right now")
    assert match is not None
    assert match.rule == "crisis:local:places"
    helper = engine.detect("can I get the duty worker")
    assert helper is not None
    assert helper.kind == "request"
    started = engine.step(engine.new_state("en"), SessionEvent("started"), NOW).state
    result = engine.step(started, UserMessage("standing at the quarry now"), NOW)
    assert isinstance(result.outputs[0], Escalate)


def test_trigger_file_mistakes(write_script: Write) -> None:
    extra = """
colour = "blue"

[settings]
big_number_from = 0
fuzzy = "suicide"

[rewrite]
gonna = 3

[words]
"Bad Name" = ["x"]
notalist = "x"

[[crisis]]
rule = "Bad Rule"
phrases = ["{nolist} now", "fine phrase"]

[[request]]
rule = "typed"
phrases = []
exclude = ["x & y"]
"""
    directory = write_script(
        {"en.toml": MINI_EN, "resources-en.toml": MINI_RESOURCES, "triggers-en.toml": extra}
    )
    problems = problems_of(directory)
    for expected in [
        "triggers-en.toml:-:colour: unknown key",
        "triggers-en.toml:settings:big_number_from: must be a whole number of at least 1",
        "triggers-en.toml:settings:fuzzy: must be a list of non-empty texts",
        "triggers-en.toml:rewrite:gonna: must be text",
        "triggers-en.toml:words:Bad Name: list names use a-z, 0-9 and _ only",
        "triggers-en.toml:words:notalist: must be a list of texts",
        "triggers-en.toml:crisis[0]:rule: rule ids use a-z, 0-9, _ and : only",
        "triggers-en.toml:crisis[0]:phrases[0]: unknown word list {nolist} in '{nolist} now'",
        "triggers-en.toml:request[0]:phrases: must not be empty",
        "triggers-en.toml:request[0]:exclude[0]: '&' cannot be used in exclude",
    ]:
        assert expected in problems, problems


def test_welsh_trigger_file_problems_are_reported_once(write_script: Write) -> None:
    extra = '[[crisis]]\nrule = "x"\nphrases = ["{nolist}"]\n'
    welsh = '[[node]]\nid = "hello"\nreplies = ["Helo"]\n'
    directory = write_script(
        {
            "en.toml": MINI_EN,
            "cy.toml": welsh,
            "resources-en.toml": MINI_RESOURCES,
            "triggers-cy.toml": extra,
        }
    )
    problems = [p for p in problems_of(directory) if "triggers-cy" in p]
    assert problems == [
        "triggers-cy.toml:crisis[0]:phrases[0]: unknown word list {nolist} in '{nolist}'"
    ]


def test_texts_required_and_crisis_node_that_escalates_itself(write_script: Write) -> None:
    text = MINI_EN.replace(
        'id = "crisis"\nbefore_consent = true',
        'id = "crisis"\nescalate = "crisis"\nbefore_consent = true',
    )
    engine = BotEngine.load(write_script({"en.toml": text, "resources-en.toml": MINI_RESOURCES}))
    state = engine.step(engine.new_state("en"), SessionEvent("started"), NOW).state
    result = engine.step(state, UserMessage("i want to die"), NOW)
    escalations = [o for o in result.outputs if isinstance(o, Escalate)]
    assert len(escalations) == 1
    assert escalations[0].reason == "crisis:wish_to_die"
    broken = write_script(
        {"en.toml": "[[crisis]]\n", "triggers-en.toml": '[[crisis]]\nrule = "r"\n'}, name="b"
    )
    problems = problems_of(broken)
    assert "triggers-en.toml:crisis[0]:phrases: is required" in problems


def test_braces_and_bad_list_entries(write_script: Write) -> None:
    text = MINI_EN.replace(
        'replies = ["Tell me more."]', 'replies = ["Tell me more {{like this}}."]'
    )
    extra = '[words]\nodd = ["!!!"]\n\n[[crisis]]\nrule = "x"\nphrases = ["{odd} now"]\n'
    directory = write_script(
        {"en.toml": text, "resources-en.toml": MINI_RESOURCES, "triggers-en.toml": extra}
    )
    problems = problems_of(directory)
    assert problems == [
        "triggers-en.toml:crisis[0]:phrases[0]: '!!!' has no letters or digits in '{odd} now'"
    ]
    fixed = write_script({"en.toml": text, "resources-en.toml": MINI_RESOURCES}, name="fixed")
    engine = BotEngine.load(fixed)
    state = engine.step(engine.new_state("en"), SessionEvent("started"), NOW).state
    state = engine.step(state, UserMessage("Yes", "yes"), NOW).state
    result = engine.step(state, UserMessage("what"), NOW)
    assert [o.text for o in result.outputs if isinstance(o, Reply)] == ["Tell me more {like this}."]
