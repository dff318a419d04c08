"""Tap-to-call and tap-to-text links for the numbers a message shows.

A resources file declares each number once, with how to reach it::

    [[contact]]
    number = "{helpline_samaritans}"
    call = "Call Samaritans"

    [[contact]]
    number = "{helpline_shout}"
    text = "Text SHOUT"
    body = "SHOUT"

``ContactLinks.find(text)`` gives the links of every declared number that appears in
a message, in the order they appear, so that a client can offer a ``tel:`` or ``sms:``
link under it (the ``links`` field of the widget protocol's ``message`` frame). It is
a pure function of the text: history read back on resume gets the same links, and
nothing about them is stored.

A number counts only as a whole: "111" is not found inside "0800 1111", and the
spaces inside a number may be written or left out ("116 123", "116123").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote

from bot_engine.script import Contact

# Between the digits of a number: nothing, a space, a no-break space or a hyphen.
_GAP = "[ \u00a0-]?"
_DIGITS = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class ContactLink:
    """One link: ``label`` for people ("Call Samaritans"), ``href`` a ``tel:`` or
    ``sms:`` address ("tel:116123", "sms:85258?body=SHOUT")."""

    label: str
    href: str


def digits_of(number: str) -> str:
    """The digits of a number as written ("0800 068 4141" -> "08000684141")."""
    return "".join(_DIGITS.findall(number))


def links_of(contact: Contact, fill: Callable[[str], str]) -> tuple[ContactLink, ...]:
    """The links of one contact, its variables filled in by ``fill``."""
    digits = digits_of(fill(contact.number))
    links: list[ContactLink] = []
    if contact.call:
        links.append(ContactLink(fill(contact.call), f"tel:{digits}"))
    if contact.text:
        body = f"?body={quote(fill(contact.body))}" if contact.body else ""
        links.append(ContactLink(fill(contact.text), f"sms:{digits}{body}"))
    return tuple(links)


class ContactLinks:
    """The contacts of one locale, compiled into one pattern that finds their numbers."""

    def __init__(self, contacts: Iterable[tuple[str, tuple[ContactLink, ...]]]) -> None:
        """``contacts``: (the number's digits, its links); a later duplicate is ignored."""
        self._links: dict[str, tuple[ContactLink, ...]] = {}
        for digits, links in contacts:
            if digits and links and digits not in self._links:
                self._links[digits] = links
        # Longest first, so that a longer number wins over a shorter one it starts with.
        numbers = sorted(self._links, key=len, reverse=True)
        alternatives = "|".join(_GAP.join(number) for number in numbers)
        self._pattern = (
            re.compile(rf"(?<!\d)(?<!\d[ \u00a0-])(?:{alternatives})(?![ \u00a0-]?\d)")
            if numbers
            else None
        )

    @property
    def numbers(self) -> tuple[str, ...]:
        """The digits of every number with links, as declared."""
        return tuple(self._links)

    def find(self, text: str) -> tuple[ContactLink, ...]:
        """The links of every declared number in ``text``, in order, each link once."""
        if self._pattern is None:
            return ()
        found: dict[str, ContactLink] = {}
        for match in self._pattern.finditer(text):
            for link in self._links.get(digits_of(match.group(0)), ()):
                found.setdefault(link.href, link)
        return tuple(found.values())
