"""Settings that tune how the bot behaves, with the reason for each default.

The engine never reads the environment itself: the gateway builds an ``EngineConfig``
from its own settings object and hands it to ``BotEngine.load``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TypingSpeed:
    """How long the bot appears to type before each reply.

    A short pause makes the chat feel like a conversation rather than a form, and a
    longer reply takes a little longer, as it would for a person. The ceiling keeps a
    distressed person from waiting on a long message; the floor keeps very short
    replies from arriving before the person has finished reading their own message.
    """

    # About 30 characters a second reads as quick but human typing.
    chars_per_second: float = 30.0
    # Just over half a second: the "typing" indicator is visible but not a delay.
    min_s: float = 0.6
    # Never more than 4 seconds, however long the reply.
    max_s: float = 4.0

    def __post_init__(self) -> None:
        if self.chars_per_second < 0:
            raise ValueError("chars_per_second must not be negative")
        if self.min_s < 0 or self.max_s < 0:
            raise ValueError("typing delays must not be negative")
        if self.min_s > self.max_s:
            raise ValueError("min_s must not be larger than max_s")

    @classmethod
    def instant(cls) -> TypingSpeed:
        """No typing delay at all (for tests and the terminal chat)."""
        return cls(chars_per_second=0.0, min_s=0.0, max_s=0.0)

    def delay_for(self, text: str) -> float:
        """Seconds of "typing" to show before ``text``; zero when the speed is zero."""
        if self.chars_per_second == 0:
            return 0.0
        seconds = len(text) / self.chars_per_second
        return round(min(self.max_s, max(self.min_s, seconds)), 2)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Behaviour of the engine that a deployment may want to change."""

    typing: TypingSpeed = field(default_factory=TypingSpeed)
    # The source chatbot sent a gentle message every hour; an hour of quiet is long
    # enough not to nag someone who stepped away, short enough to still be relevant.
    checkin_after_s: float = 3600.0
    # Two check-ins per session at most: after that, silence is the person's choice.
    max_checkins: int = 2
    # The charity's name, filling ``{service_name}`` in every locale's text (the
    # greeting says "welcome to ..."); None keeps the script's own resources value.
    service_name: str | None = None

    def __post_init__(self) -> None:
        if self.service_name is not None and not self.service_name.strip():
            raise ValueError("service_name must not be empty")
        if self.checkin_after_s <= 0:
            raise ValueError("checkin_after_s must be positive")
        if self.max_checkins < 0:
            raise ValueError("max_checkins must not be negative")


DEFAULT_CONFIG = EngineConfig()
