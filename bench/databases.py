"""Fresh databases for every gateway the bench starts.

Once per run and backend a template is migrated and given its counsellor
accounts (``bench/seed.py``: ``haven migrate`` and ``haven create-user``); each
scenario then gets its own copy (a copied SQLite file; ``CREATE DATABASE ...
TEMPLATE`` on PostgreSQL), dropped when the scenario ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.config import ROOT
from bench.servers import clean_environ

PASSWORD = "bench-password-not-secret"


@dataclass(frozen=True)
class Database:
    backend: str
    url: str  # SQLAlchemy URL for HAVEN_DATABASE_URL
    data_dir: Path


def counsellor_names(count: int) -> list[str]:
    """The accounts bench/seed.py creates: bench001, bench002, ..."""
    return [f"bench{n:03d}" for n in range(1, count + 1)]


class Databases:
    def __init__(self, *, source: Path, pg_dsn: str, staff: int) -> None:
        self.source = source
        self.pg_dsn = pg_dsn
        self.staff = staff
        self.root = Path(tempfile.mkdtemp(prefix="haven-bench-"))
        self.run_id = f"{os.getpid()}_{secrets.token_hex(3)}"
        self._templates: dict[str, Database] = {}
        self._numbers = itertools.count(1)

    # --- PostgreSQL plumbing ---

    def _pg_url(self, name: str, driver: str = "postgresql") -> str:
        parts = urlsplit(self.pg_dsn)
        return urlunsplit((driver, parts.netloc, "/" + name, parts.query, ""))

    async def _pg(self, sql: str) -> None:
        conn = await asyncpg.connect(self.pg_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def postgres_version(self) -> str:
        conn = await asyncpg.connect(self.pg_dsn)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    # --- templates ---

    async def _seed(self, db: Database) -> None:
        proc = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-P", str(ROOT / "bench" / "seed.py"), str(self.staff), PASSWORD],
            cwd=self.source,
            env={
                **clean_environ(),
                "PYTHONPATH": str(self.source),
                "HAVEN_DATABASE_URL": db.url,
                "HAVEN_DATA_DIR": str(db.data_dir),
            },
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"seeding {db.backend} failed:\n{proc.stdout}\n{proc.stderr}")

    async def template(self, backend: str) -> Database:
        if backend not in self._templates:
            if backend == "sqlite":
                folder = self.root / "template"
                folder.mkdir()
                db = Database(backend, f"sqlite+aiosqlite:///{folder / 'haven.db'}", folder)
            else:
                name = f"haven_bench_{self.run_id}_template"
                await self._pg(f'CREATE DATABASE "{name}"')
                db = Database(backend, self._pg_url(name, "postgresql+asyncpg"), self.root)
            self._templates[backend] = db
            await self._seed(db)
        return self._templates[backend]

    @contextlib.asynccontextmanager
    async def fresh(self, backend: str, label: str) -> AsyncIterator[Database]:
        """A database of its own for one scenario, migrated and seeded, dropped after."""
        template = await self.template(backend)
        number = next(self._numbers)
        if backend == "sqlite":
            folder = self.root / f"{number:02d}-{label}"
            folder.mkdir()
            for path in template.data_dir.glob("haven.db*"):
                shutil.copy(path, folder / path.name)
            try:
                yield Database(backend, f"sqlite+aiosqlite:///{folder / 'haven.db'}", folder)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            return
        name = f"haven_bench_{self.run_id}_{number:02d}_{label}"[:63]
        template_name = urlsplit(template.url).path.lstrip("/")
        await self._pg(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
        try:
            yield Database(backend, self._pg_url(name, "postgresql+asyncpg"), self.root)
        finally:
            await self._pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def close(self) -> None:
        for db in self._templates.values():
            if db.backend == "postgres":
                name = urlsplit(db.url).path.lstrip("/")
                with contextlib.suppress(Exception):
                    await self._pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(self.root, ignore_errors=True)
