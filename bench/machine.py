"""A description of the machine and software a run measured, for the results file."""

from __future__ import annotations

import contextlib
import io
import os
import platform
import sqlite3
import subprocess
import sys
import tarfile
from importlib import metadata
from pathlib import Path
from typing import Any

import redis

from bench.config import ROOT

PACKAGES = (
    "uvicorn",
    "uvloop",
    "starlette",
    "websockets",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "redis",
    "msgspec",
)


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def _git(source: Path, *args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=source, capture_output=True, text=True, check=True
        ).stdout.rstrip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def source_info(source: Path, rev: str | None = None) -> dict[str, Any]:
    """Which gateway was measured: the commit, and whether gateway code had local changes
    (none when ``rev``, a commit exported from this repository, was measured)."""
    at = rev or "HEAD"
    changed = (
        ""
        if rev
        else _git(source, "status", "--porcelain", "--", "gateway", "counsellor_ui", "bot_engine")
    )
    return {
        "path": str(source),
        "commit": _git(ROOT, "rev-parse", "--short", at).strip() or None,
        "subject": _git(ROOT, "log", "-1", "--format=%s", at).strip() or None,
        "uncommitted_gateway_changes": [line[3:] for line in changed.splitlines()],
    }


def resolve(rev: str) -> str:
    """The full commit id ``rev`` names in this repository."""
    commit = _git(ROOT, "rev-parse", "--verify", f"{rev}^{{commit}}").strip()
    if not commit:
        raise SystemExit(f"bench: {rev!r} names no commit of this repository")
    return commit


def export(rev: str, into: Path) -> Path:
    """The tree of commit ``rev`` of this repository, written under ``into``."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _redis_version(url: str) -> str | None:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        try:
            return str(client.info("server")["redis_version"])
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return None


def describe(*, postgres: str | None, redis_url: str) -> dict[str, Any]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    versions = {}
    for name in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": affinity,
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres,
        "redis": _redis_version(redis_url),
        "packages": versions,
    }
