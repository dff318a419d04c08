"""Widget protocol v1 (PROTOCOL.md, docs/protocol.md): every frame as a typed struct.

Client frames are decoded strictly: unknown ``type``, unknown fields, missing
fields and wrong types are all rejected by msgspec before a handler sees them.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

from gateway.inputs import INT32_MAX, LINE_PATTERN, TEXT_PATTERN, InputError, check_json_depth
from gateway.wait_outlook import WaitOutlook

VERSION: Final = 1

# Client ids are machine-made: printable, no control characters.
ClientId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f-\x9f]+\Z")
]
# Text may hold any character a person can type, line breaks and tabs included, but
# no other control character (PostgreSQL refuses NUL; the rest are invisible tricks).
Text = Annotated[str, msgspec.Meta(pattern=TEXT_PATTERN)]
# Sequence numbers are INTEGER columns: a larger one could not be compared with them.
Seq = Annotated[int, msgspec.Meta(ge=0, le=INT32_MAX)]
Locale = Annotated[
    str,
    msgspec.Meta(min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?\Z"),
]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=LINE_PATTERN)]
# A quick-reply value is a short identifier defined by the script, never free text.
ReplyValue = Annotated[str, msgspec.Meta(max_length=64, pattern=LINE_PATTERN)]


class _ClientFrame(msgspec.Struct, tag_field="type", forbid_unknown_fields=True):
    pass


class Hello(_ClientFrame, tag="hello"):
    # A client of a later version is answered in the version this server speaks
    # (``welcome.v``); later versions only add to v1, so it can fall back.
    v: Annotated[int, msgspec.Meta(ge=1, le=INT32_MAX)]
    token: Token | None = None
    last_seq: Seq = 0
    locale: Locale | None = None
    # Extension (optional): the answer to a ``challenge`` (proof of work), for a new
    # session only (docs/protocol.md, "challenge").
    proof: Proof | None = None


class Proof(msgspec.Struct, forbid_unknown_fields=True):
    """A ``nonce`` such that SHA-256 of ``"<salt>:<nonce>"`` begins with the
    challenge's ``difficulty`` zero bits."""

    salt: Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=r"^[0-9a-f.]+\Z")]
    nonce: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z]+\Z")]


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


RATING_COMMENT_MAX: Final = 1000  # characters: a few sentences, not a second chat


class Rating(_ClientFrame, tag="rating"):
    """Extension: the person's optional answer to "how did this chat feel?" once a chat
    with a counsellor has ended; once per session, stored with no link to either."""

    score: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: (
        Annotated[str, msgspec.Meta(max_length=RATING_COMMENT_MAX, pattern=TEXT_PATTERN)] | None
    ) = None


ClientFrame = Hello | Say | TypingIn | AskCounsellor | Leave | Erase | Rating

_decoder: Final[msgspec.json.Decoder[ClientFrame]] = msgspec.json.Decoder(ClientFrame)


def check_depth(data: str | bytes) -> None:
    """Refuse a frame nested deeper than any frame is, before a decoder recurses into it
    (raised as ``msgspec.DecodeError``, like any other unreadable frame)."""
    try:
        check_json_depth(data)
    except InputError as exc:
        raise msgspec.DecodeError(exc.message) from None


def decode_client_frame(data: str | bytes) -> ClientFrame:
    """Parse one client frame; raises ``msgspec.DecodeError`` (or ValidationError) if bad."""
    check_depth(data)
    return _decoder.decode(data)


def refusal_detail(exc: Exception) -> str:
    """What was wrong with a refused frame, in words for the client's developer.

    msgspec's own messages are kept (they name the field, never its value), except
    a pattern's, which would print a regular expression."""
    detail = str(exc)
    if "matching regex" in detail:
        where = detail.partition(" - at ")[2]
        detail = "Text may not contain control characters (other than line breaks and tabs)."
        if where:
            detail = f"{detail[:-1]} - at {where}"
    return detail


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
        check_depth(data)
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


class Helpline(msgspec.Struct):
    """One entry of the helpline directory in the session's language: ``contact`` says
    how to reach it and when ("call 116 123, free, day or night"), ``links`` are its
    tap-to-call and tap-to-text addresses."""

    name: str
    contact: str
    about: str = ""
    links: tuple[Link, ...] = ()


class ServiceInfo(msgspec.Struct, omit_defaults=True):
    """The charity running the service: its name for a header, its accent colour
    (``#rrggbb``, white text on it reaches 4.5:1) and, when it has one, the full
    address of its logo."""

    name: str
    accent: str
    logo_url: str | None = None


class Welcome(_ServerFrame, tag="welcome"):
    v: int
    state: str
    last_seq: int
    token: str | None = None  # only for a new session
    # Extension (optional): the locales this server speaks (a client may offer a
    # switch), and the helplines for the session's locale (for the queue and endings).
    locales: tuple[str, ...] | None = None
    helplines: tuple[Helpline, ...] | None = None
    # Extension (optional): the charity whose service this is (ServiceInfo).
    service: ServiceInfo | None = None


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
    # The middle of ``wait_range_s`` rounded to a minute; null when there is no honest
    # estimate (a client that knows ``wait_outlook`` should prefer it).
    estimated_wait_s: int | None
    # Free counsellors: on duty and holding fewer chats than their limit.
    counsellors_available: int
    # Extensions (optional for clients: an older gateway does not send them; this
    # one always does, ``wait_range_s`` as null when there is no range).
    # Counsellors signed in, available and seen recently, busy or not.
    counsellors_on_duty: int
    # "shortly": a free counsellor can take this chat; "busy": everyone on duty is
    # full or the free places go to people ahead; "nobody_on_duty": open hours,
    # nobody signed in; "closed": outside opening hours, nobody signed in.
    wait_outlook: WaitOutlook
    # [low, high] seconds, rounded to 5 minutes (15 above an hour), only when busy
    # and the recent past gives a rate; null otherwise. ``low`` may be 0 ("up to").
    wait_range_s: tuple[int, int] | None
    # Extension (optional): helplines the widget may show while the person waits.
    alternatives: tuple[str, ...] = ()


class Erased(_ServerFrame, tag="erased"):
    pass


class ChallengeOut(_ServerFrame, tag="challenge"):
    """Extension: before a new session is made under load, a proof of work to answer
    with ``hello.proof`` (docs/protocol.md, "challenge")."""

    algorithm: Literal["sha256"]
    salt: str
    difficulty: int  # leading zero bits


class Rated(_ServerFrame, tag="rated"):
    """Extension: the ``rating`` was stored (anonymously)."""


ErrorCode = Literal[
    "bad_frame", "too_large", "empty", "rate_limited", "unknown_token", "closed", "not_now"
]


class ErrorOut(_ServerFrame, tag="error"):
    code: ErrorCode
    message: str  # plain words for the person
    client_id: str | None = None
    # Extension (optional): what exactly was wrong, for the client's developer.
    detail: str | None = None
    # Extension (optional): with ``rate_limited``, seconds before trying again is useful.
    retry_after_s: int | None = None


ServerFrame = (
    Welcome
    | MessageOut
    | Ack
    | TypingOut
    | StateOut
    | QueueOut
    | Erased
    | Rated
    | ErrorOut
    | ChallengeOut
)

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
