"""What actions need, in one object, and the transaction that publishes after commit."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot_engine import BotEngine
from gateway.appender import BatchAppender
from gateway.broker import Broker
from gateway.db import Database
from gateway.events import Event
from gateway.models import utcnow
from gateway.password_work import PasswordWork, default_concurrency
from gateway.settings import Settings
from gateway.signin_limits import SignInLimits

if TYPE_CHECKING:
    from gateway.metrics import Metrics

log = logging.getLogger(__name__)


@dataclass
class Transaction:
    """A unit of work plus the events to publish once it has committed."""

    session: AsyncSession
    now: datetime
    events: list[tuple[str, Event]] = field(default_factory=list)

    def publish_after_commit(self, channel: str, event: Event) -> None:
        self.events.append((channel, event))


@dataclass
class Services:
    settings: Settings
    db: Database
    broker: Broker
    bot: BotEngine
    clock: Callable[[], datetime] = utcnow
    # The live chat's hot path (gateway/appender*.py); None: every write is a unit of work.
    appender: BatchAppender | None = None
    # Prometheus counters of this app (gateway/metrics.py); None: nothing is counted.
    metrics: Metrics | None = None
    # A bound on password hashing and the sign-in throttles, one each per process
    # (gateway/password_work.py, gateway/signin_limits.py), made from the settings.
    passwords: PasswordWork = field(init=False)
    signin_limits: SignInLimits = field(init=False)

    def __post_init__(self) -> None:
        self.passwords = PasswordWork(
            self.settings.password_hash_concurrency or default_concurrency(),
            self.settings.password_hash_queue,
        )
        self.signin_limits = SignInLimits(self.settings)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Run a block in one transaction; publish its events only if it commits."""
        async with self.db.unit_of_work() as session:
            tx = Transaction(session=session, now=self.clock())
            yield tx
        for channel, event in tx.events:
            await self.publish(channel, event)

    async def publish(self, channel: str, event: Event) -> None:
        """Publish an event about something already committed."""
        try:
            await self.broker.publish(channel, event)
        except Exception as exc:
            # Committed is committed: the caller's work succeeded (a message is
            # stored and must be acknowledged). A lost event is recovered by the
            # live connections' heartbeat resync; say so without its content.
            kind, error = type(event).__name__, type(exc).__name__
            log.warning("event %s on %s lost to %s", kind, channel, error)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction (nothing in it may write)."""
        async with self.db.read_only() as session:
            yield session
