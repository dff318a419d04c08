"""How the conversation view marks the bot's part and the phrase that escalated the chat."""

from __future__ import annotations

from counsellor_ui.transcript import shown_transcript, split_trigger
from gateway.actions.messages import TranscriptLine
from gateway.types import SenderKind

AT = "2026-03-02T12:00:00Z"


def line(seq: int, sender: SenderKind, text: str, name: str | None = None) -> TranscriptLine:
    return TranscriptLine(seq, sender, text, AT, None, None, name)


def test_the_bot_phase_and_the_hand_overs_are_headed() -> None:
    lines = [
        line(1, SenderKind.BOT, "Hello, I'm the Haven bot."),
        line(2, SenderKind.USER, "I can't go on"),
        line(3, SenderKind.SYSTEM, "Sam has joined the chat."),
        line(4, SenderKind.COUNSELLOR, "Hi, I'm Sam.", "Sam"),
        line(5, SenderKind.SYSTEM, "Sam has passed you back to the automatic helper."),
        line(6, SenderKind.BOT, "Welcome back."),
    ]
    shown = shown_transcript(lines, "can't go on")
    assert [s.phase for s in shown] == [
        "With the bot (automatic)",
        None,
        "With a counsellor",
        None,
        None,
        "Back with the bot",
    ]
    assert [s.who for s in shown] == [
        "Bot (automatic)",
        "Person",
        "System",
        "Sam",
        "System",
        "Bot (automatic)",
    ]
    # The detector quotes the person's own words, which are found as written.
    assert (shown[1].before, shown[1].trigger, shown[1].after) == ("I ", "can't go on", "")
    assert all(not s.trigger for s in shown if s.seq != 2)


def test_the_trigger_is_cut_out_as_written() -> None:
    assert split_trigger("Honestly I want to END MY LIFE now", "end my life", "en") == (
        "Honestly I want to ",
        "END MY LIFE",
        " now",
    )
    assert split_trigger("a quiet day", "end my life", "en") == ("a quiet day", "", "")
    assert split_trigger("anything", None, "en") == ("anything", "", "")
    # A combination is found by its first part, in the person's order.
    assert split_trigger("on the roof, going to jump", "roof \u2026 jump") == (
        "on the ",
        "roof",
        ", going to jump",
    )
