"""Widget protocol v1 (PROTOCOL.md, docs/protocol.md): every frame as a typed struct.

Client frames are decoded strictly: unknown ``type``, unknown fields, missing
fields and wrong types are all rejected by msgspec before a handler sees them.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

VERSION: Final = 1

# Client ids are machine-made: printable, no control characters.
ClientId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+\Z")
]
# Text may hold any character a person can type, but never NUL (PostgreSQL refuses it).
Text = Annotated[str, msgspec.Meta(pattern=r"^[^\x00]*$")]
Seq = Annotated[int, msgspec.Meta(ge=0)]
Locale = Annotated[
    str,
    msgspec.Meta(min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?\Z"),
]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
# A quick-reply value is a short identifier defined by the script, never free text.
ReplyValue = Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[^\x00]*$")]


class _ClientFrame(msgspec.Struct, tag_field="type", forbid_unknown_fields=True):
    pass


class Hello(_ClientFrame, tag="hello"):
    # A client of a later version is answered in the version this server speaks
    # (``welcome.v``); later versions only add to v1, so it can fall back.
    v: Annotated[int, msgspec.Meta(ge=1)]
    token: Token | None = None
    last_seq: Seq = 0
    locale: Locale | None = None


class Say(_ClientFrame, tag="say"):
    client_id: ClientId
    text: Text
    value: ReplyValue | None = None


class TypingIn(_ClientFrame, tag="typing"):
    on: bool


class AskCounsellor(_ClientFrame, tag="ask_counsellor"):
    pass


class Leave(_ClientFrame, tag="leave"):
    pass


class Erase(_ClientFrame, tag="erase"):
    pass


ClientFrame = Hello | Say | TypingIn | AskCounsellor | Leave | Erase

_decoder: Final[msgspec.json.Decoder[ClientFrame]] = msgspec.json.Decoder(ClientFrame)


def decode_client_frame(data: str | bytes) -> ClientFrame:
    """Parse one client frame; raises ``msgspec.DecodeError`` (or ValidationError) if bad."""
    return _decoder.decode(data)


class _Probe(msgspec.Struct):
    type: str = ""
    client_id: ClientId | None = None


_probe_decoder: Final = msgspec.json.Decoder(_Probe)


def say_client_id(data: str) -> str | None:
    """The ``client_id`` of a frame refused as too large, if it is a readable ``say``.

    The frame is already within the server's hard limit (uvicorn's ``ws_max_size``),
    so reading it once more is cheap; the answer lets the client mark that message.
    """
    try:
        probe = _probe_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return probe.client_id if probe.type == "say" else None


# --- server to client -------------------------------------------------------


class _ServerFrame(msgspec.Struct, tag_field="type", omit_defaults=True):
    pass


class QuickReply(msgspec.Struct):
    label: str
    value: str


class Link(msgspec.Struct):
    """Tap-to-call or tap-to-text: ``href`` is only ever a ``tel:`` or ``sms:`` address."""

    label: str
    href: str


class Welcome(_ServerFrame, tag="welcome"):
    v: int
    state: str
    last_seq: int
    token: str | None = None  # only for a new session


class MessageOut(_ServerFrame, tag="message"):
    seq: int
    from_: Literal["user", "bot", "counsellor", "system"] = msgspec.field(name="from")
    text: str
    at: str
    client_id: str | None = None
    quick_replies: tuple[QuickReply, ...] | None = None
    name: str | None = None
    # Extension (optional): links for the helpline numbers the text gives.
    links: tuple[Link, ...] | None = None


class Ack(_ServerFrame, tag="ack"):
    client_id: str
    seq: int


class TypingOut(_ServerFrame, tag="typing"):
    from_: Literal["bot", "counsellor"] = msgspec.field(name="from")
    on: bool


class StateOut(_ServerFrame, tag="state"):
    state: str
    counsellor: str | None
    # Extension (optional): false when the chat closed with nothing of it kept (the
    # person declined): there is nothing to delete, and the token resumes nothing.
    kept: bool = True


class QueueOut(_ServerFrame, tag="queue"):
    position: int
    estimated_wait_s: int | None
    counsellors_available: int
    # Extension (optional): helplines the widget may show while the person waits.
    alternatives: tuple[str, ...] = ()


class Erased(_ServerFrame, tag="erased"):
    pass


ErrorCode = Literal[
    "bad_frame", "too_large", "empty", "rate_limited", "unknown_token", "closed", "not_now"
]


class ErrorOut(_ServerFrame, tag="error"):
    code: ErrorCode
    message: str  # plain words for the person
    client_id: str | None = None
    # Extension (optional): what exactly was wrong, for the client's developer.
    detail: str | None = None


ServerFrame = Welcome | MessageOut | Ack | TypingOut | StateOut | QueueOut | Erased | ErrorOut

_encoder: Final = msgspec.json.Encoder()


def encode(frame: ServerFrame) -> str:
    return _encoder.encode(frame).decode()


class Close:
    """Close codes of PROTOCOL.md."""

    NORMAL: Final = 1000
    POLICY: Final = 1008
    TOO_LARGE: Final = 1009  # sent by uvicorn itself (ws_max_size)
    INTERNAL_ERROR: Final = 1011  # reconnect and resume
    TRY_AGAIN: Final = 1013  # this connection fell behind; reconnect and resume
    BAD_HELLO: Final = 4400
    UNKNOWN_TOKEN: Final = 4404
    HELLO_TIMEOUT: Final = 4408
    ABUSE: Final = 4429


# Plain words for a person, one per error code.
ERROR_MESSAGES: Final[dict[str, str]] = {
    "bad_frame": "Something went wrong sending that. Please try again.",
    "too_large": "That message is too long to send. Could you split it into shorter parts?",
    "empty": "That message was empty, so nothing was sent.",
    "rate_limited": "You're sending messages very quickly. Please wait a moment, then send again.",
    "unknown_token": "This conversation can't be found any more. A new one will start.",
    "closed": "This conversation has ended. You can start a new one at any time.",
    "not_now": "That isn't possible right now.",
}


def error(code: ErrorCode, client_id: str | None = None, detail: str | None = None) -> ErrorOut:
    return ErrorOut(code=code, message=ERROR_MESSAGES[code], client_id=client_id, detail=detail)
