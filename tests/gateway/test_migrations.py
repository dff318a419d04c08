"""Migrations go up, down and up again, and agree with the models, on both databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from gateway import migrations
from gateway.db import create_engine
from gateway.models import Base
from tests.conftest import fresh_pg_database
from tests.services import PG_HOST, PG_PORT, missing, port_open


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _columns(connection: Connection) -> dict[str, set[str]]:
    inspector = inspect(connection)
    return {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()}


async def _check(url: str) -> dict[str, set[str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            return await conn.run_sync(_columns)
    finally:
        await engine.dispose()


def _round_trip(url: str) -> dict[str, set[str]]:
    migrations.upgrade(url)
    migrations.downgrade(url, "base")
    migrations.upgrade(url)
    return asyncio.run(_check(url))


def _assert_private(columns: dict[str, set[str]]) -> None:
    assert {"chat_sessions", "messages", "staff"} <= set(columns)
    every = {c.lower() for cols in columns.values() for c in cols}
    assert not any(c == "ip" or "address" in c or "agent" in c for c in every)
    assert "token_hash" in columns["chat_sessions"]
    assert "token" not in columns["chat_sessions"]


def test_sqlite_up_down_up_matches_models(tmp_path: Path) -> None:
    _assert_private(_round_trip(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"))


@pytest.mark.postgres
def test_postgres_up_down_up_matches_models() -> None:
    if not port_open(PG_HOST, PG_PORT):
        missing("PostgreSQL")

    async def make() -> None:
        async with fresh_pg_database(None) as url:
            columns = await asyncio.to_thread(_round_trip, url)
            _assert_private(columns)

    asyncio.run(make())


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    migrations.upgrade(url)

    async def pragmas() -> tuple[str, int]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
                fks = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()
                return str(mode), int(fks)
        finally:
            await engine.dispose()

    assert asyncio.run(pragmas()) == ("wal", 1)
