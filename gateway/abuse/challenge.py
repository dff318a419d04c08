"""Proof of work for new sessions under load (HAVEN_CHALLENGE; docs/protocol.md, "challenge").

Before a new session is made the gateway may send a ``challenge`` frame: a salt
and a difficulty. The client finds a ``nonce`` such that SHA-256 of
``"<salt>:<nonce>"`` begins with ``difficulty`` zero bits and says ``hello`` again
with ``proof: {salt, nonce}``. A person's browser does this in a second or two,
once per chat; a script making hundreds of sessions a second pays it for each.

The salt carries its own issue time and an HMAC under the secret key, so any
process can check it without storing anything; each salt is accepted once
(``AbuseLimits.first_use``) and for ``CHALLENGE_TTL_S`` only.

``HAVEN_CHALLENGE``: ``off`` never asks; ``load`` (the default) asks only while the
service as a whole is making more new sessions than ``HAVEN_CHALLENGE_LOAD``;
``always`` asks every new session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Final

from gateway.abuse.limits import AbuseLimits, Limit
from gateway.settings import Settings

MODES: Final = ("off", "load", "always")
ALGORITHM: Final = "sha256"
# Long enough for a slow phone to solve it, short enough that a stock of solved
# salts is worth little.
CHALLENGE_TTL_S: Final = 120
SERVICE_KEY: Final = "service"  # the key of the service-wide count of new sessions


@dataclass(frozen=True)
class Challenge:
    salt: str
    difficulty: int


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


def solves(salt: str, nonce: str, difficulty: int) -> bool:
    digest = hashlib.sha256(f"{salt}:{nonce}".encode()).digest()
    return leading_zero_bits(digest) >= difficulty


def solve(salt: str, difficulty: int) -> str:
    """A nonce for ``salt`` (for tests and the benchmark; the widget has its own)."""
    nonce = 0
    while not solves(salt, str(nonce), difficulty):
        nonce += 1
    return str(nonce)


class Challenges:
    def __init__(self, settings: Settings, limits: AbuseLimits) -> None:
        self.mode = settings.challenge
        self.difficulty = settings.challenge_difficulty
        self.limits = limits
        self._secret = settings.secret_key.encode()

    def _mac(self, body: str) -> str:
        return hmac.new(self._secret, b"challenge:" + body.encode(), hashlib.sha256).hexdigest()[
            :24
        ]

    async def required(self) -> bool:
        """Whether a new session must come with a proof now."""
        if self.mode == "always":
            return True
        if self.mode == "load":
            return await self.limits.over(Limit.SESSIONS_UNDER_LOAD, SERVICE_KEY)
        return False

    async def count_new_session(self) -> None:
        """A session was made: count it towards the service-wide load."""
        if self.mode == "load":
            await self.limits.hit(Limit.SESSIONS_UNDER_LOAD, SERVICE_KEY)

    def issue(self) -> Challenge:
        body = f"{int(time.time())}.{secrets.token_hex(12)}"
        return Challenge(salt=f"{body}.{self._mac(body)}", difficulty=self.difficulty)

    async def accept(self, salt: str, nonce: str) -> bool:
        """Whether ``nonce`` answers a salt this service issued, recently, for the first time."""
        body, _, mac = salt.rpartition(".")
        issued, _, _ = body.partition(".")
        if not (body and issued.isdigit() and hmac.compare_digest(mac, self._mac(body))):
            return False
        if not 0 <= time.time() - int(issued) <= CHALLENGE_TTL_S:
            return False
        if not solves(salt, nonce, self.difficulty):
            return False
        return await self.limits.first_use("challenge:" + body, CHALLENGE_TTL_S)
