"""What the widget's socket sends, as PROTOCOL.md's frames: the codec, error frames,
transcript messages (``WidgetFrames``, for the live core's ``TranscriptFeed``), and
the helpline directory and the charity's own details that go out with ``welcome``.

Pure builders: nothing here reads the database or a socket
(gateway/live/widget.py uses them).
"""

from __future__ import annotations

from typing import Literal, cast

from bot_engine import BotEngine
from gateway import protocol as p
from gateway.actions.messages import TranscriptLine
from gateway.events import MessageAdded
from gateway.live.feed import FrameBuilder
from gateway.settings import Settings

Sender = Literal["user", "bot", "counsellor", "system"]


class WidgetCodec:
    def decode(self, raw: str) -> p.ClientFrame:
        return p.decode_client_frame(raw)

    def encode(self, frame: p.ServerFrame) -> str:
        return p.encode(frame)


def error_frame(
    code: p.ErrorCode, *, client_id: str | None = None, detail: str | None = None
) -> p.ServerFrame:
    return p.error(code, client_id=client_id, detail=detail)


def _replies(pairs: list[tuple[str, str]] | None) -> tuple[p.QuickReply, ...] | None:
    return tuple(p.QuickReply(label, value) for label, value in pairs) if pairs else None


class WidgetFrames(FrameBuilder[p.MessageOut]):
    """Messages as the widget protocol sends them; the person's own messages sent on
    this connection are skipped (it has their ``ack``; PROTOCOL.md 6).

    The bot's and the service's messages carry tap-to-call and tap-to-text ``links``
    for the helpline numbers they give (in the session's language), worked out from
    the text whenever a frame is built: live, or read back on resume. Nothing about
    them is stored.
    """

    def __init__(self, bot: BotEngine) -> None:
        self.own_client_ids: set[str] = set()
        self.bot = bot
        self.locale = "en"  # the session's, once known

    def links(self, sender: str, text: str) -> tuple[p.Link, ...] | None:
        if sender not in ("bot", "system"):
            return None
        found = self.bot.links(text, self.locale)
        return tuple(p.Link(link.label, link.href) for link in found) or None

    def from_line(self, line: TranscriptLine) -> p.MessageOut:
        user = line.sender.value == "user"
        pairs = [(r["label"], r["value"]) for r in line.quick_replies or ()]
        return p.MessageOut(
            seq=line.seq,
            from_=line.sender.value,
            text=line.text,
            at=line.at_iso,
            client_id=line.client_id if user else None,
            quick_replies=_replies(pairs),
            name=line.counsellor_name,
            links=self.links(line.sender.value, line.text),
        )

    def from_event(self, event: MessageAdded) -> p.MessageOut:
        user = event.sender == "user"
        return p.MessageOut(
            seq=event.seq,
            from_=cast(Sender, event.sender),
            text=event.text,
            at=event.at,
            client_id=event.client_id if user else None,
            quick_replies=_replies(list(event.quick_replies or ())),
            name=event.counsellor_name,
            links=self.links(event.sender, event.text),
        )

    def seq_of(self, frame: p.MessageOut) -> int:
        return frame.seq

    def skip(self, frame: p.MessageOut) -> bool:
        return frame.from_ == "user" and frame.client_id in self.own_client_ids

    def skips_event(self, event: MessageAdded) -> bool:
        return event.sender == "user" and event.client_id in self.own_client_ids


def helplines_out(bot: BotEngine, locale: str) -> tuple[p.Helpline, ...]:
    """The helpline directory in the session's language, with tap-to-call links."""
    return tuple(
        p.Helpline(
            name=entry.name,
            contact=entry.contact,
            about=entry.about,
            links=tuple(p.Link(link.label, link.href) for link in bot.links(entry.contact, locale)),
        )
        for entry in bot.directory(locale)
    )


def service_out(settings: Settings) -> p.ServiceInfo:
    """The charity's name, accent colour and logo (HAVEN_SERVICE_NAME and friends)."""
    return p.ServiceInfo(
        name=settings.service_name,
        accent=settings.accent_colour,
        logo_url=settings.logo_href or None,
    )
