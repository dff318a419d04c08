"""The bot's memory of one conversation, small enough to store with the session.

The state is a frozen value: the engine returns a new one from every step. It turns
into a JSON-safe dict and back, so the gateway can keep it in a database column and
resume at the same node after a restart. Reading is tolerant: unknown keys are ignored
and missing ones take their defaults, so a state saved by an older version still
loads; a node that no longer exists in an edited script is handled by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal, TypeAlias, cast

Phase: TypeAlias = Literal["bot", "escalated", "ended"]
PHASES: tuple[Phase, ...] = ("bot", "escalated", "ended")
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class ConversationState:
    """Where one person is in the script.

    ``phase`` is ``bot`` while the person talks with the bot, ``escalated`` once the
    bot has asked for a counsellor (the gateway stops calling the bot until a
    counsellor hands back) and ``ended`` after the bot ended the session.
    """

    locale: str
    node: str
    consented: bool = False
    mood: str | None = None
    checkins_sent: int = 0
    phase: Phase = "bot"

    def evolve(self, **changes: Any) -> ConversationState:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (strings, booleans, integers and null only)."""
        return {
            "v": STATE_VERSION,
            "locale": self.locale,
            "node": self.node,
            "consented": self.consented,
            "mood": self.mood,
            "checkins_sent": self.checkins_sent,
            "phase": self.phase,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConversationState:
        """Rebuild a state from ``to_json`` output.

        Raises ``ValueError`` when a field has the wrong type, so that a corrupted row
        is noticed rather than silently turned into a fresh conversation.
        """
        if not isinstance(data, dict):
            raise ValueError("bot state must be a JSON object")
        locale = _text(data, "locale", "en")
        node = _text(data, "node", "")
        consented = data.get("consented", False)
        if not isinstance(consented, bool):
            raise ValueError("bot state field 'consented' must be true or false")
        mood = data.get("mood")
        if mood is not None and not isinstance(mood, str):
            raise ValueError("bot state field 'mood' must be text or null")
        checkins = data.get("checkins_sent", 0)
        if isinstance(checkins, bool) or not isinstance(checkins, int) or checkins < 0:
            raise ValueError("bot state field 'checkins_sent' must be a whole number")
        phase = data.get("phase", "bot")
        if phase not in PHASES:
            raise ValueError(f"bot state field 'phase' must be one of {', '.join(PHASES)}")
        return cls(
            locale=locale or "en",
            node=node,
            consented=consented,
            mood=mood,
            checkins_sent=checkins,
            phase=cast(Phase, phase),
        )


def _text(data: dict[str, Any], key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"bot state field {key!r} must be text")
    return value
