"""Abuse limits that protect real people (docs/security.md, "Abuse").

``AbuseGuard`` holds the three parts a widget connection asks: the limits per
address and per session (``limits``), the flood groups (``floods``) and the
proof of work for new sessions under load (``challenges``).
"""

from __future__ import annotations

from gateway.abuse.challenge import Challenge, Challenges
from gateway.abuse.floods import FloodMark, FloodWatch
from gateway.abuse.limits import AbuseLimits, Limit, Refused, address_key, parse_limit
from gateway.settings import Settings


class AbuseGuard:
    def __init__(self, settings: Settings) -> None:
        self.limits = AbuseLimits(settings)
        self.floods = FloodWatch(settings, self.limits)
        self.challenges = Challenges(settings, self.limits)

    async def close(self) -> None:
        await self.floods.close()
        await self.limits.close()


__all__ = [
    "AbuseGuard",
    "AbuseLimits",
    "Challenge",
    "Challenges",
    "FloodMark",
    "FloodWatch",
    "Limit",
    "Refused",
    "address_key",
    "parse_limit",
]
