"""Tap-to-call and tap-to-text links for the numbers a message shows."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot_engine import BotEngine
from bot_engine.contacts import ContactLink, ContactLinks, digits_of
from bot_engine.script import ENDING_SPECIALS
from tests.bot_engine.support import MINI_EN, MINI_RESOURCES, problems_of

Write = Callable[..., Path]


def hrefs(engine: BotEngine, text: str, locale: str = "en") -> list[str]:
    return [link.href for link in engine.links(text, locale)]


def test_links_for_the_numbers_in_a_message_in_order(engine: BotEngine) -> None:
    text = (
        "Samaritans are free on 116 123, day or night, or you can text SHOUT to 85258. "
        "If you're in danger, call 999. Samaritans again: 116 123."
    )
    assert engine.links(text) == (
        ContactLink("Call Samaritans", "tel:116123"),
        ContactLink("Text SHOUT", "sms:85258?body=SHOUT"),
        ContactLink("Call 999", "tel:999"),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Childline is free on 0800 1111.", ["tel:08001111"]),  # not NHS 111 inside it
        ("call NHS 111 and press 2", ["tel:111"]),
        ("call 116123 now", ["tel:116123"]),  # the space may be left out
        ("call 116-123", ["tel:116123"]),
        ("Papyrus: call 0800 068 4141 or text 88247", ["tel:08000684141", "sms:88247"]),
        ("Live Fear Free on 0808 80 10 800", ["tel:08088010800"]),
        ("the helpline on 0808 2000 247, free", ["tel:08082000247"]),
        ("press 55 when you're asked", []),
        ("my number is 0999 123 456", []),  # 999 inside another number
        ("call 9999", []),
        ("it costs £116.123", []),
        ("nothing to dial here", []),
    ],
)
def test_only_whole_numbers_count(engine: BotEngine, text: str, expected: list[str]) -> None:
    assert hrefs(engine, text) == expected


def test_only_tel_and_sms_links(engine: BotEngine) -> None:
    for locale in engine.locales:
        view = engine._views[locale]
        for number in view.links.numbers:
            for link in view.links.find(number):
                assert re.fullmatch(r"(tel:\d+|sms:\d+(\?body=[A-Za-z0-9%]+)?)", link.href)
                assert link.label.strip()


def test_welsh_labels_and_the_welsh_line(engine: BotEngine) -> None:
    text = "ffonia'r Samariaid ar 116 123, a'u Llinell Gymraeg ar 0808 164 0123, neu 81066"
    assert engine.links(text, "cy") == (
        ContactLink("Ffonio'r Samariaid", "tel:116123"),
        ContactLink("Ffonio'r Llinell Gymraeg", "tel:08081640123"),
        ContactLink("Tecstio C.A.L.L.", "sms:81066?body=help"),
    )
    # A number only the English resources declare still gets its (English) link.
    assert engine.links("0800 1111", "cy-GB") == (ContactLink("Ffonio Childline", "tel:08001111"),)


def test_every_number_the_bot_gives_is_a_link(engine: BotEngine) -> None:
    number = re.compile(r"(?<![\w£.])\d[\d ]{1,12}\d(?!\w|\.\d)")
    for locale in engine.locales:
        view = engine._views[locale]
        every = [t for node in view.texts.values() for t in node]
        every += list(view.helplines) + [engine.notice(n, locale) for n in ENDING_SPECIALS]
        for text in every:
            digits = {digits_of(m.group(0)) for m in number.finditer(text)}
            digits -= {"54321", "55", "19", "35", "24", "11", "7", "2"}  # not phone numbers
            linked = {digits_of(h) for h in hrefs(engine, text, locale)}
            assert {d for d in digits if len(d) >= 3} <= linked, (locale, text)


def test_a_number_can_be_written_once_and_found_in_any_spacing() -> None:
    links = ContactLinks([("116123", (ContactLink("Call", "tel:116123"),))])
    assert links.find("116 123 or 116123") == (ContactLink("Call", "tel:116123"),)
    assert ContactLinks([]).find("116 123") == ()
    assert links.numbers == ("116123",)


@pytest.mark.parametrize(
    ("contact", "expected"),
    [
        ('number = "{phone}"', "resources-en.toml:contact[0]:call: give a call label, a text"),
        ('number = "call us"\ncall = "Call"', "resources-en.toml:contact[0]:number: must be a"),
        ('number = "{nope}"\ncall = "Call"', "resources-en.toml:contact[0]:number: unknown var"),
        ('number = "{phone}"\ncall = "Call"\nbody = "HI"', "contact[0]:body: a body is only"),
        ('call = "Call"', "resources-en.toml:contact[0]:number: is required"),
        ('number = "{phone}"\ncall = "{who}"', "resources-en.toml:contact[0]:call: unknown var"),
        ('number = "{phone}"\nemail = "x"\ncall = "C"', "contact[0]:email: unknown key"),
    ],
)
def test_contact_mistakes_are_reported(write_script: Write, contact: str, expected: str) -> None:
    resources = MINI_RESOURCES + f"\n[[contact]]\n{contact}\n"
    directory = write_script({"en.toml": MINI_EN, "resources-en.toml": resources})
    problems = problems_of(directory)
    assert any(expected in p for p in problems), problems


def test_a_deployment_may_replace_the_contacts(write_script: Write) -> None:
    mine = write_script(
        {
            "resources-en.toml": '[variables]\nhelpline_samaritans = "0300 123 4567"\n\n'
            '[[contact]]\nnumber = "{helpline_samaritans}"\ncall = "Call our line"\n'
        },
        name="mine",
    )
    engine = BotEngine.load(resources=mine)
    assert engine.links("call 0300 123 4567 or 85258") == (
        ContactLink("Call our line", "tel:03001234567"),
    )
