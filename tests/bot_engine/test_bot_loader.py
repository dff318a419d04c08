"""Loading script sets: every mistake reported once, on its own line, in the form
``file:node:key: message``; a broken script is refused as a whole."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot_engine import (
    BotEngine,
    Reply,
    ScriptError,
    SessionEvent,
)
from tests.bot_engine.support import INSTANT, MINI_EN, MINI_RESOURCES, NOW, problems_of

Write = Callable[..., Path]


def test_the_mini_script_is_valid(mini: Path) -> None:
    assert problems_of(mini) == []
    engine = BotEngine.load(mini, config=INSTANT)
    assert engine.locales == ("en",)
    result = engine.step(engine.new_state("en"), SessionEvent("started"), NOW)
    greeting = result.outputs[0]
    assert isinstance(greeting, Reply)
    assert greeting.text == "Hello. Keep this chat? 116 123"
    assert [b.value for b in greeting.quick_replies] == ["yes", "no"]


def test_the_default_script_has_no_problems() -> None:
    assert problems_of(Path(__file__).parents[2] / "bot_engine" / "scripts" / "default") == []


def _break(write: Write, old: str, new: str, extra: dict[str, str] | None = None) -> list[str]:
    assert old in MINI_EN
    files = {"en.toml": MINI_EN.replace(old, new, 1), "resources-en.toml": MINI_RESOURCES}
    files |= extra or {}
    return problems_of(write(files))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '{ label = "Sad", value = "sad", next = "sad" }',
            '{ label = "Sad", value = "sad", next = "sadd" }',
            "en.toml:menu:choices[0].next: unknown target node 'sadd'",
        ),
        (
            'id = "queued"',
            'id = "busy"',
            "en.toml:busy:id: duplicate node id: another node already uses it",
        ),
        (
            '[[node]]\nid = "bye"',
            '[[node]]\nid = "orphan"\nfree_text = true\nreplies = ["x"]\n\n[[node]]\nid = "bye"',
            "en.toml:orphan:id: unreachable node: nothing leads here",
        ),
        (
            'keywords = ["sad"]',
            "regex = '(unclosed'",
            "en.toml:(shared_rules):rule[0].regex: bad regular expression: missing ), "
            "unterminated subpattern at position 0",
        ),
        (
            'replies = ["Tell me more."]',
            'replies = ["Tell me more. {helpline}"]',
            "en.toml:fallback:replies[0]: unknown variable {helpline}",
        ),
        (
            'replies = ["Tell me more."]',
            'replies = ["Tell me more. {"]',
            "en.toml:fallback:replies[0]: a lone { or } (write {{ or }} for a brace)",
        ),
        (
            'replies = ["Tell me more."]',
            'replies = ["Tell me {more please}."]',
            "en.toml:fallback:replies[0]: {more please} is not a variable name",
        ),
        (
            'free_text = true\nreplies = ["Tell me more."]',
            'replies = ["Tell me more."]',
            "en.toml:fallback:choices: dead end: add choices, set free_text = true, "
            "or end the chat here",
        ),
        (
            'crisis = "crisis"',
            'crisis = "panic"',
            "en.toml:(script):crisis: unknown target node 'panic'",
        ),
        (
            'start = "hello"',
            'start = "menu"',
            "en.toml:(script):start: node 'menu' must set before_consent = true "
            "(it can be shown before consent)",
        ),
        (
            'id = "fallback"\nfree_text = true',
            'id = "fallback"\nfree_txt = true',
            "en.toml:fallback:free_txt: unknown key",
        ),
        (
            'id = "agreed"\nconsent = true\nthen = "menu"',
            'id = "agreed"\nconsent = true\nthen = "agreed"',
            "en.toml:agreed:then: 'then' goes round in a loop through 'agreed'",
        ),
        (
            'keywords = ["sad"]',
            'keywords = ["sad ["]',
            "en.toml:(shared_rules):rule[0].keywords[0]: bad keyword: unbalanced '[' in phrase",
        ),
        (
            'mood = "menu"',
            'mood = "nowhere"',
            "en.toml:(commands):mood: unknown target node 'nowhere'",
        ),
        (
            'escalate = "requested"\nfree_text = true\nreplies = ["Finding someone."]',
            'escalate = "soon"\nfree_text = true\nreplies = ["Finding someone."]',
            "en.toml:coming:escalate: must be one of: requested, crisis",
        ),
        (
            'id = "person"\nroute = "counsellor"',
            'id = "person"\nroute = "counsellor"\nreplies = ["hi"]',
            "en.toml:person:route: a route node only passes the person on: "
            "remove its replies, choices, rules and then",
        ),
        (
            'consent = true\nthen = "menu"\nreplies = ["Thanks."]',
            'consent = true\nthen = "menu"\nreplies = ["Thanks."]\n'
            'choices = [{ label = "A", value = "a", next = "menu" }]',
            "en.toml:agreed:choices: never shown, because 'then' moves straight on",
        ),
        (
            'end = "erase"\nreplies = ["Goodbye."]',
            'end = "erase"\nreplies = ["Goodbye."]\nfree_text = true\nthen = "menu"',
            "en.toml:bye:end: the chat ends here, so choices and then cannot be used",
        ),
        (
            '{ label = "Back", value = "back", next = "menu" },\n]',
            '{ label = "Back", value = "wait", next = "menu" },\n]',
            "en.toml:busy:choices: two choices send the same value 'wait'",
        ),
        (
            'id = "checkin"\nfree_text = true\nreplies = ["Still there?"]',
            'id = "checkin"\nfree_text = true\nreplies = []',
            "en.toml:checkin:replies: is required (at least one message)",
        ),
    ],
)
def test_each_mistake_gets_one_clear_line(
    write_script: Write, old: str, new: str, expected: str
) -> None:
    problems = _break(write_script, old, new)
    assert expected in problems, problems


def test_many_mistakes_are_all_reported_and_refused(write_script: Write) -> None:
    text = (
        MINI_EN.replace('next = "agreed"', 'next = "agred"')
        .replace('replies = ["Goodbye."]', 'replies = ["Goodbye {x}"]')
        .replace('keywords = ["sad"]', "regex = '['")
    )
    directory = write_script({"en.toml": text, "resources-en.toml": MINI_RESOURCES})
    with pytest.raises(ScriptError) as caught:
        BotEngine.load(directory)
    problems = caught.value.problems
    assert len(problems) >= 3
    assert all(line.count(":") >= 3 for line in problems)
    assert "3 problems" in str(caught.value) or f"{len(problems)} problems" in str(caught.value)


def test_file_level_problems(write_script: Write, tmp_path: Path) -> None:
    assert problems_of(tmp_path / "missing") == [
        f"{tmp_path / 'missing'}:-:-: is not a directory of script files"
    ]
    empty = write_script({}, name="empty")
    assert problems_of(empty) == ["en.toml:-:-: missing: the English script is required"]
    broken = write_script({"en.toml": "[script\n"}, name="broken")
    assert problems_of(broken)[0].startswith("en.toml:-:-: not valid TOML:")
    odd = write_script({"en.toml": MINI_EN, "notes.toml": "x = 1"}, name="odd")
    assert (
        "notes.toml:-:-: unknown file: expected en.toml, <locale>.toml, "
        "resources-<locale>.toml or triggers-<locale>.toml" in problems_of(odd)
    )
    with pytest.raises(ScriptError, match="missing"):
        BotEngine.load(empty)


def test_wrong_types_are_reported(write_script: Write) -> None:
    text = (
        MINI_EN
        + """
[[node]]
id = "Bad-Id"
replies = "not a list"
free_text = "yes"
choices = [{ label = "x" }, {}]
shared_rules = 3

[[node]]
replies = ["no id"]
"""
    )
    problems = problems_of(write_script({"en.toml": text, "resources-en.toml": MINI_RESOURCES}))
    for expected in [
        "en.toml:Bad-Id:id: node ids use a-z, 0-9 and _ only",
        "en.toml:Bad-Id:replies: must be a list of non-empty texts",
        "en.toml:Bad-Id:free_text: must be true or false",
        "en.toml:Bad-Id:choices[0].value: is required",
        "en.toml:Bad-Id:choices[1]: empty choice",
        "en.toml:Bad-Id:shared_rules: must be true or false",
        "en.toml:node[13]:id: is required",
    ]:
        assert expected in problems, problems


def test_rules_need_keywords_or_regex(write_script: Write) -> None:
    problems = _break(write_script, 'keywords = ["sad"]\n', "")
    assert "en.toml:(shared_rules):rule[0]: a rule needs keywords or a regex" in problems


def test_wrongly_shaped_tables(write_script: Write, tmp_path: Path) -> None:
    text = MINI_EN.replace("[commands]", '[commands]\n"Bad Word" = "menu"\nnumber = 3')
    text += '\n[[node]]\nid = 7\nreplies = ["x"]\nfallback = ""\n\nnode_extra = 1\n'
    welsh = 'script = "no"\nnode = [1, { replies = ["no id"] }]\nshared_rules = {}\n'
    directory = write_script(
        {"en.toml": text, "cy.toml": welsh, "resources-en.toml": 'directory = "x"\n'}
    )
    (directory / "folder").mkdir()
    (directory / "triggers-en.toml").symlink_to(tmp_path / "nowhere.toml")
    problems = problems_of(directory)
    for expected in [
        "en.toml:(commands):Bad Word: command words use a-z, 0-9 and _ only",
        "en.toml:(commands):number: must name a node",
        "en.toml:node[12]:id: must be non-empty text",
        "en.toml:node[12]:fallback: must be non-empty text",
        "en.toml:node[12]:node_extra: unknown key",
        "cy.toml:-:script: must be a table",
        "cy.toml:node[0]:-: must be a table of keys and values",
        "cy.toml:node[1]:id: is required",
        "cy.toml:-:shared_rules: must be a list of tables",
        "resources-en.toml:-:directory: must be a list of tables",
    ]:
        assert expected in problems, problems
    assert any(p.startswith("triggers-en.toml:-:-: cannot be read:") for p in problems)
