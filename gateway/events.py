"""Events published on the broker after a transaction commits.

Each event type is a strict struct (unknown fields are refused when decoded),
so what crosses Redis between processes is checked on both sides.
Channels: ``session:{id}`` for one conversation, ``queue`` for the dashboards,
``staff:{id}`` for one staff member's browsers.
"""

from __future__ import annotations

from typing import Final

import msgspec

QUEUE_CHANNEL: Final = "queue"


def session_channel(session_id: int) -> str:
    return f"session:{session_id}"


def staff_channel(staff_id: int) -> str:
    return f"staff:{staff_id}"


class _Event(msgspec.Struct, tag_field="event", forbid_unknown_fields=True):
    pass


class MessageAdded(_Event, tag="message_added"):
    session_id: int
    seq: int
    sender: str
    text: str
    at: str
    client_id: str | None = None
    quick_replies: tuple[tuple[str, str], ...] | None = None
    counsellor_id: int | None = None
    counsellor_name: str | None = None


class TypingChanged(_Event, tag="typing"):
    session_id: int
    sender: str  # "user", "bot" or "counsellor"
    on: bool


class SessionStateChanged(_Event, tag="state_changed"):
    session_id: int
    state: str
    counsellor_id: int | None = None
    counsellor_name: str | None = None
    # False when the session closed with nothing of it kept (consent declined).
    kept: bool = True


class SessionErased(_Event, tag="erased"):
    session_id: int


class QueueChanged(_Event, tag="queue_changed"):
    """Something about the queue changed; listeners re-read it from the database."""

    session_id: int | None = None
    reason: str = ""


class StaffSignedOut(_Event, tag="staff_signed_out"):
    staff_id: int


class ChatTransferred(_Event, tag="chat_transferred"):
    """A live chat was passed to ``to_staff_id`` (sent on that person's staff channel)."""

    session_id: int
    to_staff_id: int
    from_name: str


class TransferOffer(_Event, tag="transfer_offer"):
    """A transfer offered to a colleague, or what became of it.

    Sent on the staff channels of both the sender and the colleague. ``status``:
    "offered" (with the handover note, for the colleague to read before
    answering), "accepted", "declined", "cancelled" (by the sender), "expired"
    (not answered in time) or "withdrawn" (the chat ended or moved meanwhile,
    or the colleague signed out).
    """

    session_id: int
    status: str
    from_staff_id: int
    from_name: str
    to_staff_id: int
    to_name: str
    note: str = ""


class Whisper(_Event, tag="whisper"):
    """A supervisor's private word to the counsellor holding a chat.

    Sent only on that counsellor's staff channel, never on the session's
    channel the person's widget listens to; stored as a note, never a message.
    """

    session_id: int
    to_staff_id: int
    from_name: str
    text: str
    at: str


Event = (
    MessageAdded
    | TypingChanged
    | SessionStateChanged
    | SessionErased
    | QueueChanged
    | StaffSignedOut
    | ChatTransferred
    | TransferOffer
    | Whisper
)

_encoder: Final = msgspec.json.Encoder()
_decoder: Final[msgspec.json.Decoder[Event]] = msgspec.json.Decoder(Event)


def encode_event(event: Event) -> str:
    return _encoder.encode(event).decode()


def decode_event(data: str | bytes) -> Event:
    return _decoder.decode(data)
