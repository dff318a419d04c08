"""Fixtures shared by the gateway's tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The ``haven`` command's environment: development, SQLite in a fresh data folder."""
    for key in ("HAVEN_DATABASE_URL", "HAVEN_ENV", "HAVEN_BOT_SCRIPTS_DIR", "HAVEN_SERVICE_NAME"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"
