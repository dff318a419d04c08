"""The inputs the gateway gives the bot engine, as one type."""

from __future__ import annotations

from bot_engine import AskCounsellor, SessionEvent, TimerFired, UserMessage

BotInput = UserMessage | AskCounsellor | TimerFired | SessionEvent
