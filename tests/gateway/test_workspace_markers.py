"""What the dashboard shows of a chat: the last words typed, unread counts, and why it queued."""

from __future__ import annotations

import pytest

from counsellor_ui.wording import describe_reason
from gateway.actions.records import append_message, lock_session
from gateway.actions.workspace import previews_of, unread_counts
from gateway.services import Services
from gateway.types import SenderKind
from tests.factories import make_queued_session

BUTTONS = [{"label": "Talk to a person", "value": "counsellor"}]


async def say(svc: Services, session_id: int, sender: SenderKind, text: str, **kw: object) -> None:
    async with svc.transaction() as tx:
        chat = await lock_session(tx, session_id)
        await append_message(tx, chat, sender=sender, text=text, **kw)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_the_preview_is_what_the_person_typed_not_a_button_they_pressed(
    svc: Services,
) -> None:
    typed, pressed_only = await make_queued_session(svc), await make_queued_session(svc)
    for chat in (typed, pressed_only):
        await say(svc, chat.id, SenderKind.BOT, "How can I help?", quick_replies=BUTTONS)
    await say(svc, typed.id, SenderKind.USER, "my exams are too much", client_id="u1")
    await say(svc, typed.id, SenderKind.BOT, "Shall I find someone?", quick_replies=BUTTONS)
    for chat in (typed, pressed_only):
        await say(svc, chat.id, SenderKind.USER, "Talk to a person", client_id="u2")
    async with svc.read() as session:
        previews = await previews_of(session, [typed.id, pressed_only.id])
    assert previews == {typed.id: "my exams are too much"}


@pytest.mark.asyncio
async def test_unread_counts_the_persons_messages_since_the_counsellor_wrote_or_joined(
    svc: Services,
) -> None:
    chat = await make_queued_session(svc)
    await say(svc, chat.id, SenderKind.USER, "before anyone came", client_id="u0")
    await say(svc, chat.id, SenderKind.SYSTEM, "Sam has joined the chat.")
    await say(svc, chat.id, SenderKind.USER, "hi", client_id="u1")
    await say(svc, chat.id, SenderKind.USER, "are you there", client_id="u2")
    async with svc.read() as session:
        assert await unread_counts(session, [chat.id]) == {chat.id: 2}
    await say(svc, chat.id, SenderKind.COUNSELLOR, "I'm here", client_id="c1")
    async with svc.read() as session:
        assert await unread_counts(session, [chat.id]) == {}


def test_a_button_press_reads_as_the_button_the_person_pressed() -> None:
    assert (
        describe_reason("request:button", "ask_counsellor")
        == "pressed \u2018Talk to a person\u2019"
    )
    assert describe_reason("request:button", "Wait for a counsellor") == (
        "pressed \u2018Wait for a counsellor\u2019"
    )
    assert describe_reason("request:typed", "a real person please") == (
        "asked in their own words: \u201ca real person please\u201d"
    )
