"""gateway/redaction.py: contact details masked, ordinary text left alone.

Real-world formats one by one, then properties over generated text: nothing
``contacts_in`` would find survives ``redact``, ``redact`` is idempotent, and text
with no contact details in it comes back unchanged.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.redaction import EMAIL_MASK, PHONE_MASK, POSTCODE_MASK, contacts_in, redact

PHONES = [
    "07700 900123",
    "07700900123",
    "07700-900-123",
    "+44 7700 900123",
    "+447700900123",
    "+44 (0)7700 900123",
    "+44 (0) 20 7946 0958",
    "0044 20 7946 0958",
    "00 44 20 7946 0958",
    "(020) 7946 0958",
    "020 7946 0958",
    "020-7946-0958",
    "0161 496 0000",
    "0117 496 0123",
    "01632 960123",
    "0800 1111",
    "0800 11 11",
    "0800 068 41 41",
    "0300 123 3393",
    "+1 415 555 2671",
    "+1-415-555-2671",
    "+33 1 23 45 67 89",
    "+353 1 234 5678",
    "+61 2 9876 5432",
    "4155552671",
    "+44-7700-900-123",
]
EMAILS = [
    "jo@example.org",
    "jo.bloggs+help@example.co.uk",
    "a_b-c@mail.example.com",
    "JO@EXAMPLE.ORG",
    "zoë@example.de",
]
POSTCODES = [
    "SW1A 1AA",
    "sw1a 1aa",
    "SW1A1AA",
    "M1 1AE",
    "B33 8TH",
    "CR2 6XH",
    "DN55 1PT",
    "EC1A 1BB",
    "W1A 0AX",
    "GIR 0AA",
    "LS1 4AP",
    "CF10 1EP",
]
# Ordinary things people write: none of it may be masked.
ORDINARY = [
    "I took 20 pills at 3 am",
    "It was 22:30 when I got home",
    "at 07:45 tomorrow",
    "on 01/12/2026, then 2026-12-01 and 01-12-2026",
    "I owe £1,250.50 and my rent is £950",
    "about 1,000,000 people",
    "I'm 15 and my sister is 9",
    "call 999 or 111, or the Samaritans on 116 123",
    "text SHOUT to 85258",
    "3 times a day for 14 days",
    "room 101, flat 4B",
    "1.5 hours, 0.5 mg",
    "version 3.10.12",
    "the 2nd of May 2024",
    "my score went from 12 to 27",
    "I can't do this anymore, I'm at the M1 services",
    "see you at 10 or 11",
    "@mybestfriend on instagram",
]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_are_masked(phone: str) -> None:
    text = f"my number is {phone}, ring me"
    assert redact(text) == f"my number is {PHONE_MASK}, ring me"
    assert [f.kind for f in contacts_in(text)] == ["phone"]


@pytest.mark.parametrize("email", EMAILS)
def test_email_addresses_are_masked(email: str) -> None:
    assert redact(f"write to {email}.") == f"write to {EMAIL_MASK}."


@pytest.mark.parametrize("postcode", POSTCODES)
def test_uk_postcodes_are_masked(postcode: str) -> None:
    assert redact(f"I live at {postcode} now") == f"I live at {POSTCODE_MASK} now"


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert contacts_in(text) == []
    assert redact(text) == text


def test_a_tel_link_keeps_its_scheme() -> None:
    assert redact("tel:+447700900123") == f"tel:{PHONE_MASK}"


def test_everything_in_one_message() -> None:
    text = "I'm at B33 8TH, email jo@example.org or call 07700 900123 after 6"
    assert redact(text) == (
        f"I'm at {POSTCODE_MASK}, email {EMAIL_MASK} or call {PHONE_MASK} after 6"
    )


def test_masking_one_thing_can_expose_another_and_both_go() -> None:
    # The email's end touches the number; once the email is masked the number stands alone.
    text = "0a@b.co7700 900123"
    assert contacts_in(redact(text)) == []
    assert redact(redact(text)) == redact(text)


def test_the_masks_themselves_are_never_masked() -> None:
    masks = f"{PHONE_MASK} {EMAIL_MASK} {POSTCODE_MASK}"
    assert redact(masks) == masks


_pieces = st.one_of(
    st.sampled_from(PHONES + EMAILS + POSTCODES + ORDINARY),
    st.text(alphabet="0123456789 +-.()@:/,£abcdeMSWAB", max_size=30),
    st.text(max_size=30),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_pieces, max_size=8).map(" ".join))
def test_redacted_text_holds_nothing_that_would_be_masked(text: str) -> None:
    once = redact(text)
    assert contacts_in(once) == []
    assert redact(once) == once


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(ORDINARY), max_size=6).map(" ".join))
def test_ordinary_sentences_in_any_order_are_untouched(text: str) -> None:
    assert redact(text) == text
