"""Invisible and direction-changing characters made visible, for what staff read.

A person (or anyone typing into the widget) can send characters that show nothing
or reorder what is around them: the bidirectional overrides and isolates
(U+202A-U+202E, U+2066-U+2069), zero-width spaces and marks (U+200B-U+200F), line
and paragraph separators (U+2028, U+2029), the byte-order mark (U+FEFF), any other
format (Cf) or control (Cc) character, and lone surrogates. Shown raw, "pay 01" can
read "10 yap", a name can look like a colleague's, and text can hide in a message.

``reveal_invisible`` replaces each with a visible marker, ``[U+202E]``, on the way to
a staff page or a staff frame. The stored text is never changed. Newline, tab and
carriage return stay (they are how messages and notes are laid out), and two
sequences that only draw emoji stay whole: a zero-width joiner between two emoji
(a family, "heart on fire") and the tag characters of a subdivision flag (Wales,
Scotland, England), which cannot reorder or hide text outside the emoji.

Pure, no imports from the project: ``counsellor_ui/web.py`` (every template value)
and ``counsellor_ui/ws.py`` (every frame) call it.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Final

import msgspec

KEEP = frozenset("\n\t\r")
# Categories that draw nothing of their own, or reorder what is around them.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# Letters in Unicode's eyes that render as blank space (Hangul fillers): used to
# make a name or message look empty.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
ZWJ = "\u200d"
BLACK_FLAG = "\U0001f3f4"
CANCEL_TAG = "\U000e007f"
_TAG_LETTERS = frozenset(chr(c) for c in (*range(0xE0061, 0xE007B), *range(0xE0030, 0xE003A)))
_EMOJI_BEFORE = frozenset({"So", "Sk"})  # an emoji, or a skin-tone modifier ending one
_VARIATION_16 = "\ufe0f"


def marker(char: str) -> str:
    """What staff see in place of ``char``: its code point in brackets."""
    return f"[U+{ord(char):04X}]"


def is_hidden(char: str) -> bool:
    """Whether ``char`` is shown as a marker (outside the emoji sequences kept whole)."""
    if char in KEEP:
        return False
    return char in BLANK_LETTERS or unicodedata.category(char) in HIDDEN_CATEGORIES


def _emoji_joiner(text: str, i: int) -> bool:
    """A zero-width joiner between two emoji (the one before may end in U+FE0F)."""
    if i == 0 or i + 1 >= len(text):
        return False
    before = text[i - 1]
    if before == _VARIATION_16 and i >= 2:
        before = text[i - 2]
    return (
        unicodedata.category(before) in _EMOJI_BEFORE and unicodedata.category(text[i + 1]) == "So"
    )


def _flag_tags(text: str, i: int) -> int:
    """The length of a subdivision flag's tag run starting at ``i`` (0 if none).

    A flag is U+1F3F4, then tag letters or digits, then CANCEL TAG (U+E007F).
    """
    if i == 0 or text[i - 1] != BLACK_FLAG:
        return 0
    end = i
    while end < len(text) and text[end] in _TAG_LETTERS:
        end += 1
    if end == i or end >= len(text) or text[end] != CANCEL_TAG:
        return 0
    return end + 1 - i


def reveal_invisible(text: str) -> str:
    """``text`` with every hidden character replaced by its ``marker``."""
    if BLANK_LETTERS.isdisjoint(text) and (
        text.isprintable() or text.translate(_DROP_LAYOUT).isprintable()
    ):
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if not is_hidden(char) or (char == ZWJ and _emoji_joiner(text, i)):
            out.append(char)
        elif run := _flag_tags(text, i):
            out.append(text[i : i + run])
            i += run
            continue
        else:
            out.append(marker(char))
        i += 1
    return "".join(out)


_DROP_LAYOUT = str.maketrans("", "", "".join(KEEP))


def reveal_in(value: Any) -> Any:
    """``reveal_invisible`` on every string inside lists and dicts (a decoded frame)."""
    if isinstance(value, str):
        return reveal_invisible(value)
    if isinstance(value, list):
        return [reveal_in(item) for item in value]
    if isinstance(value, dict):
        return {key: reveal_in(item) for key, item in value.items()}
    return value


_encoder: Final = msgspec.json.Encoder()
# What JSON writes for a control character: short escapes and \u00XX. A false alarm
# (an escaped backslash before a "b") only takes the slower, equally correct path.
_ESCAPED_CONTROLS = ("\\u", "\\b", "\\f")


def visible_json(frame: msgspec.Struct) -> str:
    """``frame`` as JSON, every string in it passed through ``reveal_invisible``.

    Most frames hold nothing hidden: their JSON is checked as it is (printable, no
    escaped control characters) and sent without building anything else.
    """
    try:
        text = _encoder.encode(frame).decode()
    except UnicodeEncodeError:  # a lone surrogate: shown as a marker below
        text = ""
    if (
        text
        and text.isprintable()
        and BLANK_LETTERS.isdisjoint(text)
        and not any(escape in text for escape in _ESCAPED_CONTROLS)
    ):
        return text
    return _encoder.encode(reveal_in(msgspec.to_builtins(frame))).decode()
