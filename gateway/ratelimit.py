"""Per-connection sliding-window rate limit and the per-address connection cap.

Client addresses live only in memory, only while a connection is open or its
address is held off (a second by default), and are never stored or logged.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import Enum


class SlidingWindow:
    """At most ``limit`` events in any ``window_s`` seconds."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._times: deque[float] = deque()

    def allow(self, now: float) -> bool:
        while self._times and now - self._times[0] >= self.window_s:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return False
        self._times.append(now)
        return True


class Admit(Enum):
    """What the handshake of a new connection from an address is told."""

    OPEN = "open"  # counted: release it when the connection ends
    OVER_CAP = "over_cap"  # at its cap: refused as PROTOCOL.md says (1008), then held off
    HELD_OFF = "held_off"  # came back within the hold-off: HTTP 429 before any websocket


class ConnectionCounter:
    """Open connections per client address, to cap them, and addresses held off.

    An address refused at its cap is held off for ``hold_off_s``: its handshakes in
    that time are refused before a websocket is opened (``Admit.HELD_OFF``), which
    costs the gateway the least it can. A person's widget never gets there: it opens
    one socket and waits before it reconnects; a client that opens connection after
    connection does, at once.

    New connections from one address are also paced: a burst of twice ``limit`` at
    once, then ``per_minute`` a minute (a token bucket per address; ``per_minute`` 0 turns
    it off). An address over that pace is held off at once: a client that opens and
    closes connections without ever reaching the cap is slowed like one that holds
    them open.

    At most ``max_waiting`` held-off refusals may be waiting out a pause at once
    (``take_waiting``): a flooder that waits for its answer is slowed to a few
    attempts a second; one that does not cannot make the gateway hold thousands.
    """

    def __init__(
        self,
        limit: int,
        *,
        per_minute: int = 0,
        hold_off_s: float = 1.0,
        max_waiting: int = 1000,
        max_held: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.per_s = per_minute / 60
        self.burst = 2.0 * limit
        self.hold_off_s = hold_off_s
        self.max_waiting = max_waiting
        self.max_held = max_held
        self.clock = clock
        self.waiting = 0
        self._open: dict[str, int] = {}
        self._held: dict[str, float] = {}  # address -> when its hold-off ends (clock)
        self._pace: dict[str, tuple[float, float]] = {}  # address -> (tokens, when)

    def acquire(self, address: str) -> Admit:
        now = self.clock()
        until = self._held.get(address)
        if until is not None:
            if now < until:
                return Admit.HELD_OFF
            del self._held[address]
        if self.per_s and not self._paced(address, now):
            self._hold(address, now)
            return Admit.HELD_OFF
        count = self._open.get(address, 0)
        if count >= self.limit:
            self._hold(address, now)
            return Admit.OVER_CAP
        self._open[address] = count + 1
        return Admit.OPEN

    def release(self, address: str) -> None:
        count = self._open.get(address, 0) - 1
        if count <= 0:
            self._open.pop(address, None)
        else:
            self._open[address] = count

    @property
    def open(self) -> int:
        """Connections open now, from every address."""
        return sum(self._open.values())

    def held_for(self, address: str) -> float:
        """Seconds until ``address`` may open a connection again (0: now)."""
        return max(0.0, self._held.get(address, 0.0) - self.clock())

    def take_waiting(self) -> bool:
        """A place for one refusal to wait out its pause, if any is free."""
        if self.waiting >= self.max_waiting:
            return False
        self.waiting += 1
        return True

    def done_waiting(self) -> None:
        self.waiting -= 1

    def _paced(self, address: str, now: float) -> bool:
        """Take a token from the address's bucket, if it has one."""
        tokens, then = self._pace.get(address, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.per_s)
        if tokens < 1:
            return False
        if len(self._pace) >= self.max_held and address not in self._pace:
            # Forget full buckets (as if never seen); then the oldest, as for hold-offs.
            self._pace = {
                a: (t, w)
                for a, (t, w) in self._pace.items()
                if t + (now - w) * self.per_s < self.burst
            }
            while len(self._pace) >= self.max_held:
                del self._pace[next(iter(self._pace))]
        self._pace[address] = (tokens - 1, now)
        return True

    def _hold(self, address: str, now: float) -> None:
        if len(self._held) >= self.max_held:
            # Forget the hold-offs that are over; if every one is current (a flood
            # from very many addresses), the oldest go first: memory stays bounded.
            self._held = {a: t for a, t in self._held.items() if t > now}
            while len(self._held) >= self.max_held:
                del self._held[next(iter(self._held))]
        self._held[address] = now + self.hold_off_s
