"""Random tokens and their hashes. Only hashes are stored."""

from __future__ import annotations

import hashlib
import secrets

# 32 random bytes = 256 bits, well above PROTOCOL.md's floor of 128.
TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """SHA-256 is enough for a 256-bit random secret: there is nothing to guess."""
    return hashlib.sha256(token.encode()).hexdigest()
