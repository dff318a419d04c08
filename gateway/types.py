"""Leaf module of the domain's enums. Imports nothing from the project."""

from __future__ import annotations

import enum


class SessionState(enum.StrEnum):
    """Where an anonymous chat session is in its life.

    ``bot -> queued -> live -> closed``, ``queued -> abandoned`` and ``live -> queued``.
    """

    BOT = "bot"
    QUEUED = "queued"
    LIVE = "live"
    CLOSED = "closed"
    ABANDONED = "abandoned"

    @property
    def finished(self) -> bool:
        return self in (SessionState.CLOSED, SessionState.ABANDONED)

    @property
    def wire(self) -> str:
        """The state as PROTOCOL.md names it (abandoned is shown as closed)."""
        return "closed" if self.finished else self.value


class Priority(enum.IntEnum):
    """Queue priority: a higher number is seen first."""

    OTHER = 1
    REQUESTED = 2
    CRISIS = 3

    @property
    def label(self) -> str:
        return {3: "crisis", 2: "asked for a person", 1: "other"}[int(self)]


class SenderKind(enum.StrEnum):
    USER = "user"
    BOT = "bot"
    COUNSELLOR = "counsellor"
    SYSTEM = "system"


class StaffRole(enum.StrEnum):
    COUNSELLOR = "counsellor"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def can_supervise(self) -> bool:
        return self in (StaffRole.SUPERVISOR, StaffRole.ADMIN)
