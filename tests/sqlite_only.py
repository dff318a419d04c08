"""A ``database_url`` fixture for tests that do not depend on the database: SQLite only.

Import it into a test module (``from tests.sqlite_only import database_url``) to
override the conftest's, which runs every test on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio


@pytest_asyncio.fixture
async def database_url(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[str]:
    """A migrated, empty SQLite database made for this test alone."""
    path = tmp_path / "haven.db"
    path.write_bytes(sqlite_template.read_bytes())
    yield f"sqlite+aiosqlite:///{path}"
