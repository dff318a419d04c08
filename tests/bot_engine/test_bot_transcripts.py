"""The default script's transcripts replay cleanly and together visit every node;
the transcript reader and checker catch what they should."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot_engine import BotEngine
from bot_engine.compiled import LocaleScript
from bot_engine.detection import packaged_trigger_sets
from bot_engine.script import ENDING_SPECIALS
from bot_engine.transcript import TranscriptError, load_transcript, parse_transcript, replay
from tests.bot_engine.support import TRANSCRIPTS

FILES = sorted(TRANSCRIPTS.glob("*.txt"))


def test_there_are_transcripts() -> None:
    assert len(FILES) >= 8


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_transcript_replays(engine: BotEngine, path: Path) -> None:
    result = replay(engine, load_transcript(path))
    assert result.ok, "\n".join(result.failures)


def test_transcripts_visit_every_node(engine: BotEngine) -> None:
    visited: set[str] = set()
    for path in FILES:
        visited |= replay(engine, load_transcript(path)).visited
    # The notices of endings the gateway shows (a counsellor ended the chat, ...) are
    # not steps of a conversation; test_bot_crisis_replies reads them.
    assert len(engine.notice_nodes) == len(ENDING_SPECIALS)
    assert visited == set(engine.node_ids) - set(engine.notice_nodes)


def test_wrong_expectations_are_reported(engine: BotEngine) -> None:
    transcript = parse_transcript(
        """
        ! started
        reply: this text is not there
        buttons: Maybe | Later
        node: somewhere
        mood: happy
        checkin: +60
        escalate: crisis
        end: erase

        > [yes] Yes, continue
        reply: *
        checkin: none

        > I want to die
        reply: *
        reply: *
        reply: *
        end: keep

        > hello
        reply: *
        """,
        "test.txt",
    )
    failures = replay(engine, transcript).failures
    text = "\n".join(failures)
    for expected in [
        "test.txt:2: message",
        "does not contain 'this text is not there'",
        "expected 1 message(s), got 2",
        "expected buttons ['Maybe', 'Later'], got ['Yes, continue', 'No thanks']",
        "expected node 'somewhere', got 'greeting'",
        "expected mood 'happy', got None",
        "expected a check-in at +60s, got none",
        "expected an escalation (crisis), got none",
        "expected end (erase), got none",
        "test.txt:11: expected 1 message(s), got 2",
        "test.txt:11: expected no check-in, got",
        "test.txt:15: unexpected escalation crisis:wish_to_die",
        "test.txt:15: expected end (keep), got none",
        "test.txt:21: expected 1 message(s), got 0",
    ]:
        assert expected in text, text


def test_unexpected_outputs_and_dead_ends_are_failures(engine: BotEngine) -> None:
    transcript = parse_transcript(
        "! started\nreply: *\nreply: *\n> no\nreply: *\nreply: *\n@open no\n> hello\nsilent\n",
        "t.txt",
    )
    failures = replay(engine, transcript).failures
    assert failures == ["t.txt:4: unexpected end of the chat"]
    escalation = parse_transcript(
        "! started\nreply: *\nreply: *\n> I want to die\nreply: *\nreply: *\nreply: *\n"
        "reply: *\nescalate: requested\n",
        "e.txt",
    )
    assert replay(engine, escalation).failures == [
        "e.txt:4: expected escalation 'requested', got 'crisis crisis:wish_to_die'"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("reply: hello", "expectation before the first event"),
        ("! sneeze", "unknown event"),
        ("@colour blue", "unknown setting"),
        ("! started\nwhatever", "cannot read"),
        ("! started\ncheckin: soon", "checkin needs"),
        ("! started\nescalate: maybe", "escalate needs"),
        ("! started\nend: later", "end needs"),
        ("! crisis dire", "unknown event"),
        ("! crisis high sadness", "unknown event"),
        ("! started now", "unknown event"),
        ("! started\nrisk: dire", "risk needs"),
        ("@places some", "unknown setting"),
    ],
)
def test_unreadable_transcripts(text: str, message: str) -> None:
    with pytest.raises(TranscriptError, match=message):
        parse_transcript(text, "bad.txt")


def test_settings_apply_to_later_steps() -> None:
    transcript = parse_transcript(
        "@locale cy\n@counsellors 2\n@open no\n@wait 90\n! started\n@counsellors unknown\n"
        "@open yes\n> [v] Label\n",
        "s.txt",
    )
    assert transcript.locale == "cy"
    first, second = transcript.steps
    assert first.wait_s == 90
    assert first.context.counsellors_available == 2
    assert not first.context.service_open
    assert second.context.counsellors_available is None
    assert second.context.service_open
    assert (second.event.text, second.event.value) == ("Label", "v")  # type: ignore[union-attr]


def test_silence_and_dead_ends_are_checked(mini_engine: BotEngine) -> None:
    transcript = parse_transcript("! started\nsilent\n> [yes] Yes\nreply: *\nreply: *\n", "d.txt")
    failures = replay(mini_engine, transcript).failures
    assert "d.txt:1: expected silence, got 1 output(s)" in failures
    assert "d.txt:1: expected 0 message(s), got 1" in failures


def test_a_dead_end_is_a_failure(mini_engine: BotEngine) -> None:
    # The validator refuses dead ends, so build one by hand to see the check work.
    nodes = dict(mini_engine.script.nodes)
    nodes["fallback"] = replace(nodes["fallback"], free_text=False)
    script = replace(mini_engine.script, nodes=nodes)
    engine = BotEngine(script, {"en": LocaleScript(script, "en", packaged_trigger_sets()["en"])})
    transcript = parse_transcript(
        "! started\nreply: *\n> [yes] Yes\nreply: *\nreply: *\ncheckin: +3600\n> what\nreply: *\n",
        "dead.txt",
    )
    assert replay(engine, transcript).failures == [
        "dead.txt:7: dead end: the last message has no buttons and does not invite text"
    ]


def test_a_detected_crisis_and_its_risk(engine: BotEngine) -> None:
    transcript = parse_transcript(
        "! started\nreply: *\nreply: *\n@counsellors 1\n@places 0\n! crisis imminent abuse\n"
        "escalate: crisis crisis:transcript\nrisk: imminent abuse\nreply: *\nreply: *\n"
        "reply: *\nreply: *\nreply: *\nreply: *\nnode: crisis_kept\n"
        "! returned\nreply: *\n! crisis high\nrisk: high abuse\nreply: *\nreply: *\n"
        "reply: *\nreply: *\nreply: *\n",
        "c.txt",
    )
    assert transcript.steps[1].context.free_places == 0
    assert replay(engine, transcript).failures == [
        "c.txt:18: expected risk 'high abuse', got 'high suicide'"
    ]
