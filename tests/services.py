"""Real backing services for the tests, and what to do when one is missing.

Tests that need PostgreSQL, Redis or Chromium skip on a machine without them,
except in CI (``CI=true``), where a missing service fails the test.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

PG_HOST = os.environ.get("HAVEN_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("HAVEN_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("HAVEN_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("HAVEN_TEST_PG_DB", "test")
REDIS_URL = os.environ.get("HAVEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMIUM = Path("/usr/bin/chromium")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(what: str) -> None:
    if in_ci():
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available on this machine")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_url(database: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"
