"""Masking contact details in text kept after a chat: phone numbers, emails, UK postcodes.

Pure functions, no project imports. ``redact`` replaces each phone number, email
address and UK postcode with a plain label ("[phone number removed]", ...); the
labels hold no digits and no ``@``, so masked text never matches again, and
``redact`` is idempotent (it repeats until nothing changes, since masking one
thing can expose another, as in ``0a@b.co7700 900123``).

What counts as a phone number (digits counted without separators):

* a number written with ``+`` or ``00`` in front: 7 to 15 digits (E.164);
* a national number starting with ``0`` (``07700 900123``, ``(020) 7946 0958``,
  ``0800 1111``): 8 to 11 digits;
* any other run of digits: 10 to 15 digits (a number given without its 0).

Groups may be separated by one space, hyphen or dot, and the trunk ``(0)`` of
``+44 (0)20 ...`` is allowed. What is left alone on purpose: times (``22:30``),
dates (``01/12/2026``, ``01-12-2026``, ``2026-12-01``), money (``£1,250.50``),
counts and short codes such as ``999``, ``111`` and ``116 123`` (six digits:
helpline short codes say nothing about the person).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PHONE_MASK = "[phone number removed]"
EMAIL_MASK = "[email removed]"
POSTCODE_MASK = "[postcode removed]"

_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w])",
)
# Royal Mail's formats: A9 9AA, A99 9AA, AA9 9AA, AA99 9AA, A9A 9AA, AA9A 9AA, and
# GIR 0AA; the letters each position may hold. Any case, with or without the space.
_POSTCODE = re.compile(
    r"(?<![\w])(?:GIR ?0AA|[A-PR-UWYZ](?:\d{1,2}|[A-HK-Y]\d{1,2}|\d[A-HJKPSTUW]"
    r"|[A-HK-Y]\d[ABEHMNPRV-Y]) ?\d[ABD-HJLNP-UW-Z]{2})(?![\w])",
    re.IGNORECASE,
)
# A candidate: an optional + or 00, an optional bracketed area code, then digits in
# groups joined by at most one separator (and the trunk "(0)"). Not inside a word,
# an amount of money, a time or a decimal.
_PHONE = re.compile(
    r"(?<![\w+£$€.,/])(?<!\d:)"
    r"(?:\+\s?|00\s?)?"
    r"(?:\(\s*\d{1,5}\s*\)\s?)?"
    r"\d(?:[ .\-]?(?:\(0\)[ .\-]?)?\d)*"
    r"(?![\w:/]|[.,]\d)"
)
_DATE = re.compile(r"\d{1,2}[.\-]\d{1,2}[.\-]\d{2,4}|\d{4}[.\-]\d{1,2}[.\-]\d{1,2}")


def _is_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate.replace("(0)", ""))
    start = candidate.lstrip("( ")
    if start.startswith("+"):
        return 7 <= len(digits) <= 15
    if start.startswith("00"):
        return 7 <= len(digits) - 2 <= 15
    if start.startswith("0"):
        return 8 <= len(digits) <= 11
    return 10 <= len(digits) <= 15


def _phone_spans(text: str) -> list[tuple[int, int]]:
    """Where the phone numbers are. A date inside a candidate ("01-12-2026 3") is
    never part of a number: the pieces around it are judged on their own."""
    spans = []
    for match in _PHONE.finditer(text):
        pieces = [(match.start(), match.end())]
        for date in _DATE.finditer(match.group()):
            start, end = match.start() + date.start(), match.start() + date.end()
            pieces = [p for a, b in pieces for p in ((a, min(b, start)), (max(a, end), b))]
        for start, end in pieces:
            piece = text[start:end]
            stripped = piece.strip(" .-")
            if stripped and _is_phone(stripped):
                offset = start + piece.index(stripped)
                spans.append((offset, offset + len(stripped)))
    return spans


@dataclass(frozen=True)
class Found:
    kind: str  # "phone", "email" or "postcode"
    text: str


def contacts_in(text: str) -> list[Found]:
    """Every phone number, email address and postcode ``redact`` would mask, in order."""
    found = [(m.start(), Found("email", m.group())) for m in _EMAIL.finditer(text)]
    found += [(m.start(), Found("postcode", m.group())) for m in _POSTCODE.finditer(text)]
    found += [(start, Found("phone", text[start:end])) for start, end in _phone_spans(text)]
    return [f for _start, f in sorted(found, key=lambda pair: pair[0])]


def _once(text: str) -> str:
    # Emails first (their digits are not a phone number), then postcodes, then phones.
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _POSTCODE.sub(POSTCODE_MASK, text)
    for start, end in reversed(_phone_spans(text)):
        text = text[:start] + PHONE_MASK + text[end:]
    return text


def redact(text: str) -> str:
    """``text`` with every phone number, email address and UK postcode masked."""
    while True:
        masked = _once(text)
        if masked == text:
            return masked
        text = masked
