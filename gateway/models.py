"""SQLAlchemy models. The Alembic migrations must agree with these (a test checks).

Privacy: no table has a column for an IP address or a user agent, and the
resume token is stored only as a SHA-256 hash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql import false

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Staff(Base):
    """A counsellor, supervisor or admin who signs in to the dashboard."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Presence: a counsellor is counted as available while they say so and
    # their dashboard has been seen recently (heartbeat).
    available: Mapped[bool] = mapped_column(Boolean, default=False)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # An admin reset the password: a new one must be chosen at the next sign-in.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class StaffSession(Base):
    """A signed-in browser. The cookie holds an opaque id; only its hash is stored."""

    __tablename__ = "staff_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChatSession(Base):
    """An anonymous person's conversation, from the bot's greeting to the end."""

    __tablename__ = "chat_sessions"
    __table_args__ = (Index("ix_chat_sessions_state_queued_at", "state", "queued_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="bot")
    priority: Mapped[int] = mapped_column(Integer, default=1)
    # Put back by a counsellor (release, dropped connection): served before everyone.
    queue_front: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_reason: Mapped[str | None] = mapped_column(String(120), nullable=True)
    escalation_match: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The strongest crisis the detector found (bot_engine.RiskLevel and RiskTopic): it
    # orders crisis sessions in the queue and is never lowered while the person waits.
    risk_level: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    risk_topic: Mapped[str | None] = mapped_column(String(16), nullable=True)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    mood: Mapped[str | None] = mapped_column(String(40), nullable=True)
    bot_state: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The highest seq given to a message of this session; the next is last_seq + 1.
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    counsellor_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    # When the person's widget last showed a sign of life (frame or pong).
    user_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the bot's next check-in is due; null when none is scheduled.
    checkin_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    # The person has answered (or skipped) the post-chat rating; they are asked once.
    rated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A transfer offered to a colleague and not yet answered (one at a time): the
    # chat stays with ``counsellor_id`` until ``transfer_to_id`` accepts it. No
    # foreign key, so that SQLite can add and drop the column in place (see 0005).
    transfer_to_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    transfer_offered_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True, index=True
    )
    # Phone numbers, emails and postcodes were masked in the transcript after close.
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The retention purge removed the transcript's text; the row stays for statistics.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # An opaque random label shared by the sessions one client created in a burst
    # (never derived from an address): the queue demotes them together and a
    # supervisor can clear them at once.
    flood_group: Mapped[str | None] = mapped_column(String(16), nullable=True)


class Message(Base):
    """One line of a transcript. ``seq`` is gap-free per session, starting at 1."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("session_id", "seq", name="uq_messages_session_seq"),
        UniqueConstraint("session_id", "client_id", name="uq_messages_session_client_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(16))
    counsellor_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), nullable=True
    )
    text: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    quick_replies: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginFailure(Base):
    """A failed staff sign-in, kept for the throttle window and then deleted.

    In the database so that every gateway process counts the same failures.
    It holds the username that was tried and when, nothing about the client.
    """

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class CannedResponse(Base):
    """A reply supervisors keep ready; a counsellor inserts it and edits it before sending."""

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    # Typed after "/" in the message box to offer this reply (for example "breathe").
    shortcut: Mapped[str | None] = mapped_column(String(32), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), nullable=True
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SessionNote(Base):
    """A private note on a conversation (or a handover note). The person never sees these."""

    __tablename__ = "session_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), nullable=True
    )
    # "note" (written during the chat) or "handover" (written when transferring it).
    kind: Mapped[str] = mapped_column(String(16), default="note")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WrapUp(Base):
    """What the counsellor recorded when the conversation ended: one per session."""

    __tablename__ = "wrap_ups"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), nullable=True, index=True
    )
    risk_level: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # One or more outcomes (a chat can be listened to, signposted and safety-planned).
    outcomes: Mapped[list[WrapUpOutcome]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="WrapUpOutcome.outcome"
    )


class WrapUpOutcome(Base):
    """One outcome of a wrap-up (``HAVEN_WRAPUP_OUTCOMES`` names the choices)."""

    __tablename__ = "wrap_up_outcomes"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("wrap_ups.session_id", ondelete="CASCADE"), primary_key=True
    )
    outcome: Mapped[str] = mapped_column(String(80), primary_key=True)


class Rating(Base):
    """A person's optional answer to "how was this chat?" after a counsellor chat ends.

    Deliberately anonymous: no session, no counsellor, nothing but the score, the
    words the person chose to add, the language and when. Supervisors see these
    in aggregate; they cannot be traced back to a conversation.
    """

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    locale: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class QueueWait(Base):
    """One wait in the queue: when the session entered it, why, at what priority and
    risk level, and how the wait ended (claimed, by whom; abandoned; erased).

    A session released and claimed again has a row for each wait; the statistics of
    waits (docs/statistics.md) come from these rows, never from ``chat_sessions``.
    The vocabulary of ``cause`` and ``outcome`` and the exact meaning of each column
    are in gateway/actions/waits.py; ``priority`` and ``risk_level`` are the highest
    the session had while it waited.
    """

    __tablename__ = "queue_waits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_sessions.id", ondelete="SET NULL"), nullable=True, index=True
    )
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Why the session entered the queue ("escalated", "released", "dropped", ...).
    cause: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer)
    risk_level: Mapped[str] = mapped_column(String(16))
    # Null while the session is still waiting.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # How the wait ended ("claimed", "abandoned", "erased", ...); null while waiting.
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Who claimed it, when it was claimed.
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), nullable=True, index=True
    )


class AuditEvent(Base):
    """Append-only: who did what to which session reference, and when.

    Never message text: ``detail`` is a short description made by the code (an
    outcome, a colleague's name, a count), not anything a person wrote. The session
    is a plain number, not a foreign key, so the record outlives an erased session.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), nullable=True, index=True
    )
    action: Mapped[str] = mapped_column(String(32))
    session_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    detail: Mapped[str | None] = mapped_column(String(200), nullable=True)


class DailyFigures(Base):
    """The statistics of one settled local day and one wait class, kept so that a
    long period reads a row per day instead of every session (gateway/actions/
    daily_figures.py). A cache: any change to a session, wait or wrap-up of that day
    deletes the day's rows (triggers, migration 0008), and they are built again.
    ``key`` names the settings they were computed under (time zone, targets, ...).
    """

    __tablename__ = "daily_figures"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # local YYYY-MM-DD
    wait_class: Mapped[str] = mapped_column(String(16), primary_key=True)
    # The local day as UTC [starts_at, ends_at): what the triggers delete by.
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    figures: Mapped[bytes] = mapped_column(LargeBinary)  # msgpack of a statistics Cell
