"""Haven's bot engine: scripted, safe conversations as a pure library.

The gateway loads a script set once with ``BotEngine.load`` and calls
``engine.step(state, event, now, context)`` for every event of a conversation. The
engine reads no clock, does no I/O during a step and imports nothing from the rest of
the project. See ``docs/bot-scripts.md`` for how to write and test scripts.
"""

from bot_engine.config import EngineConfig, TypingSpeed
from bot_engine.detection import detect
from bot_engine.engine import BotEngine, StepResult
from bot_engine.problems import ScriptError
from bot_engine.state import ConversationState
from bot_engine.types import (
    AskCounsellor,
    Context,
    End,
    Escalate,
    Event,
    Output,
    Priority,
    QuickReply,
    Reply,
    RiskLevel,
    RiskTopic,
    ScheduleCheckin,
    SessionEvent,
    TimerFired,
    TriggerMatch,
    UserMessage,
)

__all__ = [
    "AskCounsellor",
    "BotEngine",
    "Context",
    "ConversationState",
    "End",
    "EngineConfig",
    "Escalate",
    "Event",
    "Output",
    "Priority",
    "QuickReply",
    "Reply",
    "RiskLevel",
    "RiskTopic",
    "ScheduleCheckin",
    "ScriptError",
    "SessionEvent",
    "StepResult",
    "TimerFired",
    "TriggerMatch",
    "TypingSpeed",
    "UserMessage",
    "detect",
]
