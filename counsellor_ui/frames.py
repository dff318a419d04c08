"""Frames of the counsellor websocket, ``/counsellor/ws`` (internal to this app).

Incoming frames are strict (unknown types and fields refused). They carry no
session id: a socket is bound to one chat by its URL at the handshake, and
the server decides, frame by frame, whether the counsellor still holds it.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from gateway.inputs import LINE_PATTERN, TEXT_PATTERN
from gateway.protocol import check_depth


class _In(msgspec.Struct, tag_field="type", forbid_unknown_fields=True):
    pass


class SayIn(_In, tag="say"):
    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=LINE_PATTERN)]
    # Line breaks and tabs, but no other control character (PostgreSQL refuses NUL).
    text: Annotated[str, msgspec.Meta(pattern=TEXT_PATTERN)]


class TypingIn(_In, tag="typing"):
    on: bool


CounsellorFrame = SayIn | TypingIn
decoder: Final[msgspec.json.Decoder[CounsellorFrame]] = msgspec.json.Decoder(CounsellorFrame)


def decode(raw: str | bytes) -> CounsellorFrame:
    """One frame, strictly; nesting is bounded before the decoder recurses into it.

    Raises ``msgspec.DecodeError`` or ``msgspec.ValidationError`` if it is bad."""
    check_depth(raw)
    return decoder.decode(raw)


class _Out(msgspec.Struct, tag_field="type", omit_defaults=True):
    pass


class QueueRowOut(msgspec.Struct):
    session_id: int
    position: int
    priority: str
    priority_label: str
    why: str  # the reason and the words that matched, in plain words
    mood: str | None
    locale: str
    queued_at: str
    front: bool
    preview: str
    person_away: bool
    risk: str = "none"  # bot_engine.RiskLevel of a crisis: imminent, high or concern
    # The flood group it is in (gateway/actions/floods.py) and the group in words
    # ("12 sessions from one source in 2 minutes"): shown as one row, never alerted.
    flood: str | None = None
    flood_summary: str | None = None


class MineOut(msgspec.Struct):
    """One of the counsellor's own live chats."""

    session_id: int
    priority: str
    priority_label: str
    mood: str | None
    person_waiting: bool
    unread: int = 0  # the person's messages since the counsellor last wrote


class QueueOut(_Out, tag="queue"):
    rows: list[QueueRowOut]
    # Free counsellors (on duty, below their chat limit) and all on duty.
    available: int
    on_duty: int
    mine: list[MineOut]


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
    """The chat's state changed; ``mine`` says whether this counsellor still holds it."""

    session_id: int
    state: str
    mine: bool
    counsellor: str | None = None


class PersonOut(_Out, tag="person"):
    """How long since the person's widget was last heard from (sent each heartbeat)."""

    session_id: int
    seen_s: int
    gone: bool


class TransferredOut(_Out, tag="transferred"):
    """A colleague passed this counsellor a chat."""

    session_id: int
    from_name: str


class MarkerOut(_Out, tag="marker"):
    """One of the counsellor's own chats changed: a dashboard's live markers."""

    session_id: int
    person_waiting: bool
    unread: int


class TransferOfferOut(_Out, tag="transfer_offer"):
    """A transfer offer to or from this counsellor, or what became of it.

    ``incoming``: this counsellor is the one asked. ``status`` is "offered",
    "accepted", "declined", "cancelled", "expired" or "withdrawn"; ``note`` (the
    handover note) comes with "offered".
    """

    session_id: int
    status: str
    incoming: bool
    from_name: str
    to_name: str
    note: str = ""


class WhisperOut(_Out, tag="whisper"):
    """A supervisor's private word to this counsellor about the chat: never the person's."""

    session_id: int
    from_name: str
    text: str
    at: str


class BoardOut(_Out, tag="board"):
    """The supervisors' live board, rendered (and escaped) by the server's template once
    per change for every supervisor watching it."""

    html: str


class ErrorOut(_Out, tag="error"):
    message: str
    client_id: str | None = None


Out = (
    QueueOut
    | MessageOut
    | AckOut
    | TypingOut
    | StateOut
    | PersonOut
    | TransferredOut
    | MarkerOut
    | TransferOfferOut
    | WhisperOut
    | BoardOut
    | ErrorOut
)
encoder: Final = msgspec.json.Encoder()
