"""Worker side of the bot scenario: people talking to the bot, turn after turn.

A turn is timed from the person's ``say`` to the bot's first ``message`` frame
(``reply``) and to its ``typing`` off, the end of the turn (``turn``). Against
the echo server, which has no bot, both are the ``ack``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bench.clients import Conn, bot_done, is_ack, is_bot_message, now, open_widget, say
from bench.scenarios.people import summary
from bench.workers import WorkerContext

# Free text the default script answers in its own words, none of it a crisis or a
# request for a person: the bot replies to each, whatever came before.
TEXTS = (
    "I feel anxious",
    "thanks",
    "I'm stressed about exams",
    "hello",
    "I feel lonely",
    "thank you",
)


@dataclass
class Talker:
    key: str
    conn: Conn
    echo: bool
    replies: list[float] = field(default_factory=list)
    turns: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    number: int = 0

    async def turn(self, timeout_s: float) -> None:
        client_id = f"{self.key}-{self.number}"
        text = TEXTS[self.number % len(TEXTS)]
        self.number += 1
        self.conn.drain()
        started = now()
        await self.conn.send(say(client_id, text))
        try:
            if self.echo:
                ack = (await self.conn.until(is_ack(client_id), timeout_s))[-1]
                self.replies.append(ack["_at"] - started)
                self.turns.append(ack["_at"] - started)
                return
            reply = (await self.conn.until(is_bot_message, timeout_s))[-1]
            self.replies.append(reply["_at"] - started)
            done = (await self.conn.until(bot_done, timeout_s))[-1]
            self.turns.append(done["_at"] - started)
        except TimeoutError:
            self.failures.append(f"no reply to turn {self.number} within {timeout_s} s")


async def _talker(key: str, base_ws: str, echo: bool, timeout_s: float) -> Talker:
    conn, _welcome = await open_widget(base_ws, timeout_s=timeout_s)
    if not echo:
        # The greeting, then "Yes, continue" to the question about keeping the chat.
        await conn.until(bot_done, timeout_s)
        await conn.send(say(f"{key}-consent", "Yes, continue", "yes"))
        await conn.until(bot_done, timeout_s)
    return Talker(key, conn, echo)


def _results(talkers: list[Talker]) -> dict[str, Any]:
    return {
        "replies": [r for t in talkers for r in t.replies],
        "turns": [r for t in talkers for r in t.turns],
        "failures": [f for t in talkers for f in t.failures][:5],
        "failed": sum(len(t.failures) for t in talkers),
    }


async def w_turns(ctx: WorkerContext, *, turns: int, timeout_s: float) -> dict[str, Any]:
    """Each person opened here takes ``turns`` turns, each as soon as the last has ended."""
    talkers: list[Talker] = ctx.state["talkers"]

    async def talk(talker: Talker) -> None:
        for _ in range(turns):
            await talker.turn(timeout_s)
            if talker.failures:
                return

    await asyncio.gather(*(talk(t) for t in talkers))
    return _results(talkers)


async def w_open_people(
    ctx: WorkerContext, *, base_ws: str, echo: bool, keys: list[str], timeout_s: float
) -> dict[str, Any]:
    durations: list[float] = []

    async def one(key: str) -> Talker:
        started = now()
        talker = await _talker(key, base_ws, echo, timeout_s)
        durations.append(now() - started)
        return talker

    results = await asyncio.gather(*(one(key) for key in keys), return_exceptions=True)
    ctx.state["talkers"] = [r for r in results if isinstance(r, Talker)]
    return summary(durations, [r for r in results if isinstance(r, BaseException)])


async def w_talk(
    ctx: WorkerContext,
    *,
    start_at: float,
    stop_at: float,
    period_s: float,
    offsets: list[float],
    timeout_s: float,
) -> dict[str, Any]:
    """Each person starts a turn every ``period_s`` (at its own offset), until ``stop_at``;
    a turn that is still running when the next is due delays it."""
    talkers: list[Talker] = ctx.state["talkers"]
    late = 0

    async def talk(talker: Talker, offset: float) -> None:
        nonlocal late
        due = start_at + offset
        while due < stop_at:
            delay = due - now()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                late += 1
            await talker.turn(timeout_s)
            due += period_s

    await asyncio.gather(*(talk(t, o) for t, o in zip(talkers, offsets, strict=False)))
    return {**_results(talkers), "late": late}
