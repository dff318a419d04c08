"""Frames of the counsellor websocket, ``/counsellor/ws`` (internal to this app)."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec


class _In(msgspec.Struct, tag_field="type", forbid_unknown_fields=True):
    pass


class SayIn(_In, tag="say"):
    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    text: str


class TypingIn(_In, tag="typing"):
    on: bool


CounsellorFrame = SayIn | TypingIn
decoder: Final[msgspec.json.Decoder[CounsellorFrame]] = msgspec.json.Decoder(CounsellorFrame)


class _Out(msgspec.Struct, tag_field="type", omit_defaults=True):
    pass


class QueueRowOut(msgspec.Struct):
    session_id: int
    position: int
    priority: str
    priority_label: str
    reason: str | None
    matched: str | None
    mood: str | None
    locale: str
    queued_at: str
    front: bool
    preview: str


class QueueOut(_Out, tag="queue"):
    rows: list[QueueRowOut]
    available: int


class MessageOut(_Out, tag="message"):
    session_id: int
    seq: int
    sender: str
    text: str
    at: str
    client_id: str | None = None
    name: str | None = None


class AckOut(_Out, tag="ack"):
    client_id: str
    seq: int


class TypingOut(_Out, tag="typing"):
    session_id: int
    on: bool


class StateOut(_Out, tag="state"):
    session_id: int
    state: str
    counsellor: str | None = None


class ErrorOut(_Out, tag="error"):
    message: str
    client_id: str | None = None


Out = QueueOut | MessageOut | AckOut | TypingOut | StateOut | ErrorOut
encoder: Final = msgspec.json.Encoder()
