"""What the counsellor socket sends, built from the gateway's rows and events.

The codec and error frames ``LiveSocket`` uses, the transcript's ``message``
frames (``ChatFrames``, for ``TranscriptFeed``), the queue's rows (built once
per snapshot however many workspaces show them), the ``queue`` frame and
transfer offers. Pure frame building: no I/O, and nothing of
``counsellor_ui/ws.py`` or ``counsellor_ui/chat_watch.py`` is imported.
"""

from __future__ import annotations

import weakref

from counsellor_ui import frames as f
from counsellor_ui.wording import describe_reason, queue_label
from gateway.actions.floods import flood_groups
from gateway.actions.handover import PendingOffer
from gateway.actions.messages import TranscriptLine
from gateway.actions.snapshot import QueueSnapshot
from gateway.events import MessageAdded, TransferOffer
from gateway.live.feed import FrameBuilder
from gateway.protocol import ErrorCode
from gateway.visible_text import visible_json

_ERRORS: dict[str, str] = {
    "bad_frame": "That frame was not understood.",
    "too_large": "That message is too long to send.",
    "empty": "That message was empty, so nothing was sent.",
    "rate_limited": "You are sending very quickly. Wait a moment, then send again.",
    "closed": "This chat has ended.",
    "not_now": "That is not possible right now.",
    "unknown_token": "This chat cannot be found.",
}


class CounsellorCodec:
    def decode(self, raw: str) -> f.CounsellorFrame:
        return f.decode(raw)

    def encode(self, frame: f.Out) -> str:
        # Hidden and direction-changing characters reach staff as visible markers.
        return visible_json(frame)


def error_out(code: ErrorCode, *, client_id: str | None = None, detail: str | None = None) -> f.Out:
    message = _ERRORS.get(code, "That did not work.")
    if detail and code == "bad_frame":
        message = f"Frame not understood: {detail}"
    return f.ErrorOut(message=message, client_id=client_id)


class ChatFrames(FrameBuilder[f.MessageOut]):
    def __init__(self, session_id: int) -> None:
        self.session_id = session_id

    def from_line(self, line: TranscriptLine) -> f.MessageOut:
        return f.MessageOut(
            session_id=self.session_id,
            seq=line.seq,
            sender=line.sender.value,
            text=line.text,
            at=line.at_iso,
            client_id=line.client_id,
            name=line.counsellor_name,
        )

    def from_event(self, event: MessageAdded) -> f.MessageOut:
        return f.MessageOut(
            session_id=self.session_id,
            seq=event.seq,
            sender=event.sender,
            text=event.text,
            at=event.at,
            client_id=event.client_id,
            name=event.counsellor_name,
        )

    def seq_of(self, frame: f.MessageOut) -> int:
        return frame.seq


# The queue rows of a snapshot, built once however many workspaces show them.
_rows_of: weakref.WeakKeyDictionary[QueueSnapshot, list[f.QueueRowOut]] = (
    weakref.WeakKeyDictionary()
)


def queue_rows_out(snapshot: QueueSnapshot) -> list[f.QueueRowOut]:
    rows = _rows_of.get(snapshot)
    if rows is None:
        floods = {group.label: group.summary for group in flood_groups(snapshot.rows)}
        rows = _rows_of[snapshot] = [
            f.QueueRowOut(
                session_id=r.session_id,
                position=r.position,
                priority=r.priority.name.lower(),
                priority_label=queue_label(r.priority, r.risk_level),
                why=describe_reason(r.reason, r.matched, r.risk_topic),
                mood=r.mood,
                locale=r.locale,
                queued_at=r.queued_at.isoformat(),
                front=r.front,
                preview=r.preview,
                person_away=r.person_away,
                risk=r.risk_level,
                flood=r.flood_group,
                flood_summary=floods.get(r.flood_group or ""),
            )
            for r in snapshot.rows
        ]
    return rows


def queue_out(snapshot: QueueSnapshot, staff_id: int) -> f.QueueOut:
    """The queue as this member of staff's workspace shows it, with their own chats."""
    return f.QueueOut(
        rows=queue_rows_out(snapshot),
        available=snapshot.available,
        on_duty=snapshot.on_duty,
        mine=[
            f.MineOut(
                session_id=c.session_id,
                priority=c.priority.name.lower(),
                priority_label=queue_label(c.priority, c.risk_level),
                mood=c.mood,
                person_waiting=c.person_waiting,
                unread=c.unread,
            )
            for c in snapshot.chats_of(staff_id)
        ],
    )


def offer_out(offer: TransferOffer | PendingOffer, staff_id: int) -> f.TransferOfferOut:
    """A transfer offer as its event, or as still open when a workspace opens ("offered")."""
    return f.TransferOfferOut(
        session_id=offer.session_id,
        status=offer.status if isinstance(offer, TransferOffer) else "offered",
        incoming=offer.to_staff_id == staff_id,
        from_name=offer.from_name,
        to_name=offer.to_name,
        note=offer.note,
    )
