"""Sign-in throttles that slow a guesser without letting anyone lock a counsellor out.

Three counters, each a moving window (the ``limits`` library: in this process's
memory with ``memory://``, in Redis across processes with ``redis://``):

* **per address**, all usernames together: ``login_address_attempts`` attempts a
  window, then that address is refused until the oldest attempt leaves the window;
* **per address and account**: ``login_max_failures`` attempts a window from one
  address at one account (a successful sign-in clears it), then refused likewise;
* **per account**, from anywhere: never a refusal. Past ``login_account_free_failures``
  failures a window, each attempt at that account waits a short time that doubles
  with every further failure, up to ``login_account_delay_max_s``. A guesser
  spread over many addresses is slowed; the real counsellor still gets in, and on a
  browser the account signed in from before (a signed "known browser" cookie,
  ``device_token``) does not wait at all and goes first for password hashing.

Addresses are never stored: a key holds a keyed hash (HMAC with the deployment's
secret key, ``gateway.abuse.limits.address_key``) of the address, in the same storage
as the widget's abuse limits, and every key expires with its window. Accounts are
keyed by the normalised username, so ``SAM``, `` sam `` and ``sam`` are one
account, and usernames that do not exist are throttled the same way (the answer
never tells which exist). An admin's unlock starts the account's counters afresh.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadSignature, Signer
from limits import RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from gateway.abuse.limits import address_key, storage_for
from gateway.settings import Settings

log = logging.getLogger(__name__)
Refusal = Literal["address", "account_at_address"]
# The first slow-down; each further failure doubles it (up to the setting's cap).
FIRST_DELAY_S = 0.25


@dataclass(frozen=True)
class Verdict:
    """What the throttles say about one attempt, before the password is checked."""

    refused: Refusal | None = None
    retry_after_s: float = 0.0  # when refused: seconds until an attempt is allowed
    delay_s: float = 0.0  # when allowed: wait this long before checking the password


class SignInLimits:
    """The three counters, and the admin's unlock."""

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self._storage = storage or storage_for(settings)
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._secret = settings.secret_key
        window = max(1, math.ceil(settings.login_window_s))
        self.window_s = window
        self._address = RateLimitItemPerSecond(settings.login_address_attempts, window)
        self._pair = RateLimitItemPerSecond(settings.login_max_failures, window)
        self._free = settings.login_account_free_failures
        self._delay_max_s = settings.login_account_delay_max_s
        # Enough entries to reach the longest delay; more would only cost memory.
        steps = max(1, math.ceil(math.log2(max(self._delay_max_s / FIRST_DELAY_S, 1)))) + 1
        self._account = RateLimitItemPerSecond(self._free + steps, window)

    def _account_key(self, username: str) -> str:
        """An account as a key: HMAC-SHA256 under the secret key, as addresses are."""
        digest = hmac.new(self._secret.encode(), b"account:" + username.encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    async def _generation(self, account: str) -> str:
        """Bumped by an unlock, so every address's counter at the account starts afresh."""
        return str(await self._storage.get(f"generation/{account}"))

    async def _pair_key(self, address: str, username: str) -> tuple[str, str]:
        account = self._account_key(username)
        return address_key(self._secret, address), f"{account}.{await self._generation(account)}"

    async def check(self, *, address: str, username: str) -> Verdict:
        """Count this attempt from ``address`` at ``username``; say whether it may go on.

        If the counters cannot be reached (Redis down) the attempt goes on, and the
        log says so: a counsellor must be able to sign in, and the bound on password
        hashing still holds.
        """
        try:
            return await self._check(address=address, username=username)
        except Exception:
            log.warning("sign-in throttles unavailable; an attempt was not counted")
            return Verdict()

    async def _check(self, *, address: str, username: str) -> Verdict:
        by_address = address_key(self._secret, address)
        if not await self._limiter.hit(self._address, by_address):
            return await self._refusal("address", self._address, by_address)
        pair = await self._pair_key(address, username)
        if not await self._limiter.hit(self._pair, *pair):
            return await self._refusal("account_at_address", self._pair, *pair)
        return Verdict(delay_s=await self.delay_for(username))

    async def _refusal(self, kind: Refusal, item: RateLimitItemPerSecond, *keys: str) -> Verdict:
        stats = await self._limiter.get_window_stats(item, *keys)
        return Verdict(refused=kind, retry_after_s=max(1.0, stats.reset_time - time.time()))

    async def delay_for(self, username: str) -> float:
        """The slow-down before checking a password for ``username`` (0 below the threshold)."""
        stats = await self._limiter.get_window_stats(self._account, self._account_key(username))
        failures = self._account.amount - stats.remaining
        if failures < self._free:
            return 0.0
        return float(min(self._delay_max_s, FIRST_DELAY_S * 2 ** (failures - self._free)))

    async def failed(self, *, username: str) -> None:
        """A wrong password (or unknown or inactive account) for ``username``."""
        try:
            await self._limiter.hit(self._account, self._account_key(username))
        except Exception:
            log.warning("sign-in throttles unavailable; a failure was not counted")

    async def succeeded(self, *, address: str, username: str) -> None:
        """The right password: this address's counter at the account starts again."""
        try:
            await self._limiter.clear(self._pair, *await self._pair_key(address, username))
        except Exception:
            log.warning("sign-in throttles unavailable; a success was not counted")

    async def unlock(self, *, username: str) -> None:
        """An admin's unlock: the account's counters, from every address, start afresh."""
        account = self._account_key(username)
        await self._storage.incr(f"generation/{account}", expiry=self.window_s * 2)
        await self._limiter.clear(self._account, account)

    async def recent_failures(self, username: str) -> int:
        """Failures at ``username`` within the window (capped), for the accounts page."""
        stats = await self._limiter.get_window_stats(self._account, self._account_key(username))
        return self._account.amount - stats.remaining

    async def close(self) -> None:
        """Close the Redis connection, or stop the memory storage's expiry timer."""
        bridge = getattr(self._storage, "bridge", None)
        client = getattr(bridge, "storage", None)
        if client is not None:
            await client.aclose()
        timer = getattr(self._storage, "timer", None)
        if timer is not None and not timer.done():
            timer.cancel()

    def device_token(self, username: str) -> str:
        """A known-browser cookie's value for ``username``: signed, naming no one."""
        signer = Signer(self._secret, salt="haven-signin-device")
        return signer.sign(f"{self._account_key(username)}.{secrets.token_urlsafe(8)}").decode()

    def recognises(self, token: str | None, username: str) -> bool:
        """Whether ``token`` is a known-browser cookie issued to ``username``."""
        if not token:
            return False
        try:
            value = Signer(self._secret, salt="haven-signin-device").unsign(token).decode()
        except (BadSignature, UnicodeDecodeError):
            return False
        return hmac.compare_digest(value.split(".")[0], self._account_key(username))
