"""Turning stored messages and events into widget frames."""

from __future__ import annotations

from typing import Literal, cast

from gateway.actions.messages import TranscriptLine
from gateway.events import MessageAdded
from gateway.protocol import MessageOut, QuickReply

Sender = Literal["user", "bot", "counsellor", "system"]


def frame_from_line(line: TranscriptLine) -> MessageOut:
    return MessageOut(
        seq=line.seq,
        from_=line.sender.value,
        text=line.text,
        at=line.at_iso,
        client_id=line.client_id if line.sender.value == "user" else None,
        quick_replies=tuple(QuickReply(r["label"], r["value"]) for r in line.quick_replies)
        if line.quick_replies
        else None,
        name=line.counsellor_name,
    )


def frame_from_event(event: MessageAdded) -> MessageOut:
    return MessageOut(
        seq=event.seq,
        from_=cast(Sender, event.sender),
        text=event.text,
        at=event.at,
        client_id=event.client_id if event.sender == "user" else None,
        quick_replies=tuple(QuickReply(label, value) for label, value in event.quick_replies)
        if event.quick_replies
        else None,
        name=event.counsellor_name,
    )
