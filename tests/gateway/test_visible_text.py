"""``reveal_invisible``: hidden and direction-changing characters become visible markers."""

from __future__ import annotations

import json

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from gateway.visible_text import is_hidden, marker, reveal_invisible, visible_json

RLO = "\u202e"
WALES = "\U0001f3f4\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
HEART_ON_FIRE = "\u2764\ufe0f\u200d\U0001f525"

# Every code point that hides or reorders text (the list and more).
NAMED = (
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + [chr(c) for c in range(0x200B, 0x2010)]
    + ["\u2028", "\u2029", "\ufeff", "\x00", "\x1b", "\x7f", "\u061c", "\u3164", "\ud800"]
)


def test_each_named_character_shows_as_its_code_point() -> None:
    for char in NAMED:
        assert reveal_invisible(f"a{char}b") == f"a[U+{ord(char):04X}]b", hex(ord(char))
    assert reveal_invisible(f"pay {RLO}01") == "pay [U+202E]01"


def test_layout_and_ordinary_text_are_left_alone() -> None:
    for text in (
        "Hello",
        "line one\nline two\ttab\r\n",
        "café naïve",
        "שלום",
        "مرحبا",
        "nb\u00a0sp",
    ):
        assert reveal_invisible(text) == text


def test_emoji_sequences_stay_whole_and_a_lone_joiner_does_not() -> None:
    for emoji in (WALES, FAMILY, HEART_ON_FIRE):
        assert reveal_invisible(f"I feel {emoji} today") == f"I feel {emoji} today"
    assert reveal_invisible("a\u200db") == "a[U+200D]b"
    # Tag characters outside a flag smuggle text: shown.
    assert reveal_invisible("hi\U000e0068\U000e0069") == "hi[U+E0068][U+E0069]"
    # A flag that never ends keeps nothing hidden either.
    assert reveal_invisible("\U0001f3f4\U000e0067x") == "\U0001f3f4[U+E0067]x"


def _hidden_left(text: str) -> list[str]:
    """Hidden characters still in ``text`` outside the emoji sequences kept whole."""
    for keep in (WALES, FAMILY, HEART_ON_FIRE):
        text = text.replace(keep, "")
    return [c for c in text if is_hidden(c)]


@given(st.text(alphabet=st.characters(codec=None), max_size=60))
def test_nothing_hidden_survives_and_nothing_else_changes(text: str) -> None:
    shown = reveal_invisible(text)
    assert _hidden_left(shown) == [] or "\u200d" in text or any(_tag(c) for c in text)
    assert reveal_invisible(shown) == shown  # a marker is plain ASCII
    shown.encode("utf-8")  # no lone surrogate left: it can always be sent
    if "\u200d" not in text and not any(_tag(c) for c in text):
        # Outside the emoji sequences: each hidden character becomes its marker,
        # everything else is kept as it was, in order.
        assert shown == "".join(marker(c) if is_hidden(c) else c for c in text)


def _tag(char: str) -> bool:
    return 0xE0000 <= ord(char) <= 0xE007F


@given(st.text(alphabet=st.sampled_from([*NAMED, "a", " ", "\n", "\u200d", "\U0001f525"])))
def test_named_characters_in_any_mix_never_survive(text: str) -> None:
    shown = reveal_invisible(text)
    for char in NAMED:
        if char != "\u200d":
            assert char not in shown
    # A joiner survives only between two emoji.
    for i, char in enumerate(shown):
        if char == "\u200d":
            assert shown[i - 1] == "\U0001f525" and shown[i + 1] == "\U0001f525"


@given(st.text(alphabet=st.characters(categories=["L", "M", "N", "P", "S", "Zs"]), max_size=60))
def test_text_without_hidden_characters_is_unchanged(text: str) -> None:
    if any(is_hidden(c) for c in text):
        return
    assert reveal_invisible(text) == text


class _Frame(msgspec.Struct, tag_field="type", tag="message"):
    text: str
    name: str | None = None
    rows: list[dict[str, str]] = []


def test_a_frame_is_revealed_in_every_string_it_holds() -> None:
    plain = _Frame(text="hello", name="Sam")
    assert visible_json(plain) == msgspec.json.encode(plain).decode()
    frame = _Frame(text=f"look {RLO}here\x1b", name="S\u200bam", rows=[{"preview": f"{RLO}x"}])
    decoded = json.loads(visible_json(frame))
    assert decoded == {
        "type": "message",
        "text": "look [U+202E]here[U+001B]",
        "name": "S[U+200B]am",
        "rows": [{"preview": "[U+202E]x"}],
    }
    # A lone surrogate cannot be written as JSON at all; revealed, it can.
    assert json.loads(visible_json(_Frame(text="\ud800")))["text"] == "[U+D800]"
