"""What a waiting person is told about the wait, as a pure function (no database, no clock).

The outlook is one of four plain facts, said in this order of precedence:

* ``closed`` / ``nobody_on_duty``: no counsellor is on duty (outside opening
  hours, or inside them with nobody signed in and available). No number: nobody
  can say when someone will sign in.
* ``shortly``: counsellors on duty can take more chats than there are people up
  to and including this one. No number: it is a matter of someone clicking Claim.
* ``busy``: everyone on duty is full, or the free places go to people ahead. A
  range of minutes when the recent past gives a rate to go on, else no number.

The range is deliberately wide and rounded (5 minutes, 15 above an hour): a
waiting person is better served by "10 to 25 minutes" than by a precise figure
that is wrong. Two rates are used when known: the service's capacity (counsellors
on duty times their chat limit, over the median length of recent chats) and the
claims of the last hour. The faster gives the low end, the slower the high end.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Literal

WaitOutlook = Literal["shortly", "busy", "nobody_on_duty", "closed"]

# Claims in this window make the claim rate; the recent past, not the whole day.
CLAIM_WINDOW_S = 3600.0
# Chats claimed in this window and since ended give the median chat length: long
# enough to hold a few chats on a quiet evening, short enough to follow the shift.
HANDLING_WINDOW_S = 6 * 3600.0
# Fewer claims or ended chats than this is too little to estimate from.
MIN_SAMPLES = 3
# How far the range reaches either side of the estimate: waits are skewed (one long
# chat holds a place for a long time), so the high end reaches further.
LOW_FACTOR = 0.7
HIGH_FACTOR = 1.5
# Rounding of the range: 5 minutes up to an hour, 15 minutes beyond.
STEP_S = 300
LONG_STEP_S = 900
# Beyond this, a number would be a guess: the person is told the service is busy.
LONGEST_S = 3 * 3600


@dataclass(frozen=True)
class ServiceLoad:
    """The service's state as the wait depends on it, read once per queue snapshot.

    ``on_duty``: counsellors (not supervisors) signed in, available and seen
    recently. ``free``: those of them holding fewer chats than ``max_chats``.
    ``free_places``: how many more chats all of them can take now.
    ``recent_claims``: claims in the last ``CLAIM_WINDOW_S``.
    ``chat_lengths_s``: claim-to-end lengths of chats claimed in the last
    ``HANDLING_WINDOW_S`` that have ended.
    """

    on_duty: int
    free: int
    free_places: int
    service_open: bool = True
    max_chats: int = 1
    recent_claims: int = 0
    chat_lengths_s: tuple[float, ...] = ()


@dataclass(frozen=True)
class WaitEstimate:
    outlook: WaitOutlook
    # [low, high] in seconds, only for ``busy`` with enough recent data.
    range_s: tuple[int, int] | None = None

    @property
    def estimated_s(self) -> int | None:
        """The middle of the range, rounded to a minute; None without a range."""
        if self.range_s is None:
            return None
        low, high = self.range_s
        return round((low + high) / 2 / 60) * 60


def chats_per_second(load: ServiceLoad) -> list[float]:
    """The rates at which places open up, from each source with enough data."""
    rates: list[float] = []
    if len(load.chat_lengths_s) >= MIN_SAMPLES and load.on_duty > 0:
        median = statistics.median(load.chat_lengths_s)
        if median > 0:
            rates.append(load.on_duty * max(load.max_chats, 1) / median)
    if load.recent_claims >= MIN_SAMPLES:
        rates.append(load.recent_claims / CLAIM_WINDOW_S)
    return rates


def rounded_range(low_s: float, high_s: float) -> tuple[int, int] | None:
    """A range in whole steps (low rounded down, high up); None when too far out."""
    step = STEP_S if high_s <= 3600 else LONG_STEP_S
    low = math.floor(low_s / step) * step
    if low >= LONGEST_S:
        return None
    high = max(math.ceil(high_s / step) * step, low + step)
    return low, high


def estimate_wait(position: int, load: ServiceLoad) -> WaitEstimate:
    """What the person at ``position`` (1 = next) is told about their wait."""
    if load.on_duty <= 0:
        return WaitEstimate("nobody_on_duty" if load.service_open else "closed")
    places = max(load.free_places, 0)
    if position <= places:
        return WaitEstimate("shortly")
    rates = chats_per_second(load)
    if not rates:
        return WaitEstimate("busy")
    # Places that must open before this person's turn: those the people ahead
    # will take once the free ones are gone, and their own.
    needed = position - places
    low = needed / max(rates) * LOW_FACTOR
    high = needed / min(rates) * HIGH_FACTOR
    return WaitEstimate("busy", rounded_range(low, high))
