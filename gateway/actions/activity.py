"""Signals that are not stored: typing indicators."""

from __future__ import annotations

from gateway.events import TypingChanged, session_channel
from gateway.services import Services


async def signal_typing(svc: Services, *, session_id: int, sender: str, on: bool) -> None:
    await svc.broker.publish(
        session_channel(session_id), TypingChanged(session_id=session_id, sender=sender, on=on)
    )
