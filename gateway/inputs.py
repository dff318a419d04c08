"""Bounded readers for what clients send: numbers, text, choices, dates, JSON depth.

Everything a form field, a query parameter or a frame carries passes one of
these before it reaches an action or the database. Each refuses what the
storage below would choke on (a number beyond its column, a NUL that
PostgreSQL refuses, a lone surrogate that cannot be encoded, JSON nested
deep enough to exhaust the decoder's recursion) with ``InputError``, whose
message is plain words that can be shown as they are and never quote the input.

Pure: no I/O and nothing of the rest of the project.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Collection
from datetime import date
from typing import Final

# Every id and sequence number is an INTEGER column: 32 bits, signed, on PostgreSQL.
INT32_MAX: Final = 2**31 - 1
# More digits than this cannot be a number any field takes (leading zeros included).
MAX_DIGITS: Final = 12
# JSON frames nest two or three levels; 32 is generous and far below the decoder's
# recursion limit, which a 2 KB frame of brackets reaches.
MAX_JSON_DEPTH: Final = 32

# C0 and C1 control characters and DEL, except tab, line feed and carriage return.
CONTROL_CHARACTERS: Final = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# The same set, for a msgspec ``Meta(pattern=...)`` on a frame's text field.
TEXT_PATTERN: Final = rf"^[^{CONTROL_CHARACTERS}]*\Z"
# A single-line value refuses line breaks and tabs too.
LINE_PATTERN: Final = r"^[^\x00-\x1f\x7f-\x9f]*\Z"

_CONTROL = re.compile(rf"[{CONTROL_CHARACTERS}]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DIGITS = re.compile(r"-?[0-9]+", re.ASCII)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
# A JSON string (with its escapes), and the brackets outside strings.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class InputError(ValueError):
    """A value refused; ``message`` says why in plain words, never quoting it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_int(raw: str, *, name: str, low: int = 0, high: int = INT32_MAX) -> int:
    """A whole number written in ASCII digits (``²`` and ``١٢٣`` are not), within bounds."""
    value = raw.strip()
    if not value:
        raise InputError(f"The {name} is missing.")
    if len(value) > MAX_DIGITS or not _DIGITS.fullmatch(value):
        raise InputError(f"The {name} must be a whole number.")
    number = int(value)
    if not low <= number <= high:
        raise InputError(f"The {name} must be between {low} and {high}.")
    return number


def parse_text(
    raw: str, *, name: str, max_chars: int, multiline: bool = False, strip: bool = True
) -> str:
    """Text within ``max_chars``, with no control characters (line breaks and tabs only
    when ``multiline``) and no lone surrogates."""
    text = raw.strip() if strip else raw
    if len(text) > max_chars:
        raise InputError(f"The {name} may be at most {max_chars} characters.")
    if (_CONTROL if multiline else _LINE_CONTROL).search(text):
        raise InputError(f"The {name} contains a control character, which is not allowed.")
    if not is_encodable(text):
        raise InputError(f"The {name} contains characters that cannot be read.")
    return text


def parse_choice(raw: str, choices: Collection[str], *, name: str) -> str:
    """One of ``choices``, exactly."""
    if raw not in choices:
        raise InputError(f"The {name} is not one of the choices.")
    return raw


def parse_date(
    raw: str, *, name: str, earliest: date = date(2000, 1, 1), latest: date = date(2999, 12, 31)
) -> date:
    """A calendar date written ``YYYY-MM-DD`` in ASCII digits, within bounds."""
    found = _DATE.fullmatch(raw.strip())
    if found is None:
        raise InputError(f"The {name} must be a date written as YYYY-MM-DD.")
    try:
        day = date(*(int(part) for part in found.groups()))
    except ValueError as exc:
        raise InputError(f"The {name} is not a date in the calendar.") from exc
    if not earliest <= day <= latest:
        raise InputError(
            f"The {name} must be between {earliest.isoformat()} and {latest.isoformat()}."
        )
    return day


def is_encodable(text: str) -> bool:
    """Whether ``text`` is valid Unicode that UTF-8 can carry (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def same_secret(given: str, expected: str) -> bool:
    """A constant-time comparison that any text may be given to (``secrets.compare_digest``
    raises on non-ASCII strings)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def json_depth(raw: str | bytes) -> int:
    """How deeply the JSON text nests arrays and objects, brackets in strings not counted.

    A cheap scan, meant to run before a recursive decoder sees the text: it does not
    check that the text is JSON (the decoder does), only how deep it could go.
    """
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    depth = deepest = 0
    for bracket in _BRACKETS.finditer(_JSON_STRING.sub("", text)):
        if bracket.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(0, depth - 1)
    return deepest


def check_json_depth(raw: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON text nested more than ``max_depth`` levels (before decoding it)."""
    openings = raw.count("[") + raw.count("{") if isinstance(raw, str) else len(raw)
    if openings > max_depth and json_depth(raw) > max_depth:
        raise InputError(f"The frame nests more than {max_depth} levels deep.")
