"""Fixtures: a fresh database per test (SQLite file or PostgreSQL), services, a real server."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
import uvicorn
from xdist.remote import Producer
from xdist.scheduler import LoadGroupScheduling

from gateway import migrations
from gateway.app import build_bot, create_app
from gateway.broker import MemoryBroker
from gateway.db import Database
from gateway.services import Services
from gateway.settings import ABUSE_LIMITS, Settings
from tests.services import (
    PG_ADMIN_DB,
    PG_HOST,
    PG_PORT,
    PG_USER,
    free_port,
    missing,
    pg_url,
    port_open,
    unique_name,
)

# --- Parallel runs --------------------------------------------------------------------
# `make test` runs the suite in several pytest-xdist worker processes at once
# (Makefile, PYTEST_WORKERS), and other people's runs may share this PostgreSQL and
# Redis. Every session fixture below runs once per worker and names what it creates
# after the worker (the PostgreSQL template) or keeps it in pytest's per-worker
# tmp_path. A new test must therefore:
#   * name any database, Redis key or channel, file or directory uniquely
#     (``unique_name()`` from tests/services.py, ``tmp_path``, or ``make_settings``,
#     which gives every test its own broker channel prefix), never a fixed one;
#   * never FLUSHDB/FLUSHALL Redis or DROP a database it did not create, never kill
#     processes by name, and never listen on a fixed port (``free_port()``);
#   * write screenshots to ``artifacts`` under a file name no other test uses;
#   * wait for a condition (with a generous deadline), never for a fixed time, and
#     assert no wall-clock speed: workers share two cores (measure CPU time, as
#     tests/bot_engine/test_bot_model.py does, when speed is what is tested);
#   * if its tests must not run beside each other, have its module listed in
#     ONE_WORKER below, with the reason. (pytest-xdist's own ``xdist_group`` marker does
#     nothing with pytest 9: xdist 3.8 renames the node id, which pytest 9 ignores.)
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
TEMPLATE_DB = f"haven_test_template_{WORKER}_{os.getpid()}"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
# How long a uvicorn started by a test may take to listen: seconds on an idle machine,
# far more while several workers (and other people's runs) share the cores.
SERVER_START_S = 60.0


# The modules whose tests take tens of seconds each (two gateway processes, hypothesis's
# stateful machine, kill -9 and restart), longest first. Under pytest-xdist they are
# handed out before everything else, so that the run does not end with one worker
# alone on a minute-long test while the others are idle. Add a module here when its
# tests take more than ~10 s each (`pytest --durations=30` shows them).
SLOW_FIRST = (
    "tests/gateway/test_input_sweep.py",  # its page sweep: 60-100 s per database
    "tests/gateway/test_connection_memory.py",
    "tests/gateway/test_lifecycle_stateful.py",
    "tests/gateway/test_two_processes.py",
    "tests/gateway/test_restart.py",
    "tests/e2e/test_widget_restart.py",
    "tests/gateway/test_fuzz.py",
    "tests/counsellor_ui/test_signin_flood.py",
)


# Their time limit (pyproject's `timeout` is 120 s for every other test, to stop a hang):
# on two cores shared by parallel workers one of them can take several minutes.
SLOW_TIMEOUT_S = 600


# Modules whose tests all run on one worker, one after another (with --dist loadgroup,
# as make test runs): test_two_processes starts two gateway processes per test (three
# with its own Redis), seconds of CPU each; several such tests at once on two shared
# cores pushed each past its time limit.
ONE_WORKER = ("tests/gateway/test_two_processes.py",)


def _module(item: pytest.Item | str) -> str:
    nodeid = item if isinstance(item, str) else item.nodeid
    return nodeid.split("::", 1)[0]


class _OneWorkerModules(LoadGroupScheduling):
    """--dist loadgroup, with every test of an ONE_WORKER module in one work unit."""

    def _split_scope(self, nodeid: str) -> str:
        module = _module(nodeid)
        return module if module in ONE_WORKER else super()._split_scope(nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> object | None:
    if config.getvalue("dist") == "loadgroup":
        return _OneWorkerModules(config, log)
    return None  # xdist's own


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _module(item) in SLOW_FIRST and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return  # a serial run keeps the files' order

    def rank(item: pytest.Item) -> int:
        module = _module(item)
        return SLOW_FIRST.index(module) if module in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order within each module is kept


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test: instant bot typing, short timers, the test's own database."""
    base = Settings(
        env="development",
        database_url=database_url,
        data_dir=data_dir,
        bot_typing_cps=0.0,
        bot_typing_min_s=0.0,
        bot_typing_max_s=0.0,
        heartbeat_s=5.0,
        # Redis channels and keys of this test alone, should it use redis:// (parallel runs).
        broker_channel_prefix=f"{unique_name('haven-test')}:",
        **NO_ABUSE_LIMITS,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


# Tests open many sessions a second from one address (127.0.0.1): the per-address
# abuse limits, flood groups and proof of work (gateway/abuse/) stay out of their way
# unless a test asks for them; tests/gateway/test_abuse_*.py use ``ABUSE_DEFAULTS``.
NO_ABUSE_LIMITS: dict[str, Any] = {
    **{name: "1000000/second" for name in ABUSE_LIMITS},
    "challenge": "off",
    "new_connections_per_address_per_minute": 0,
}
# The shipped defaults of those settings.
ABUSE_DEFAULTS: dict[str, Any] = {
    name: getattr(Settings(), name)
    for name in (
        *ABUSE_LIMITS,
        "challenge",
        "challenge_difficulty",
        "new_connections_per_address_per_minute",
    )
}


async def _pg_admin() -> asyncpg.Connection:
    return await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=PG_ADMIN_DB)


def _in_thread(fn: Callable[[], None]) -> None:
    """Run blocking setup (which may start its own event loop) outside the test's loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(fn).result()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated once, copied for every test that needs one."""
    if not port_open(PG_HOST, PG_PORT):
        missing("PostgreSQL on 127.0.0.1:5432")

    async def admin(*statements: str) -> None:
        conn = await _pg_admin()
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    def create() -> None:
        asyncio.run(
            admin(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"', f'CREATE DATABASE "{TEMPLATE_DB}"')
        )
        migrations.upgrade(pg_url(TEMPLATE_DB))

    _in_thread(create)
    yield TEMPLATE_DB
    _in_thread(lambda: asyncio.run(admin(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')))


@contextlib.asynccontextmanager
async def fresh_pg_database(template: str | None) -> AsyncIterator[str]:
    name = unique_name("haven_test")
    conn = await _pg_admin()
    try:
        if template:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield pg_url(name)
    finally:
        conn = await _pg_admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    _in_thread(lambda: migrations.upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest_asyncio.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    """A migrated, empty database of each kind, made for this test alone."""
    if request.param == "sqlite":
        path = tmp_path / "haven.db"
        path.write_bytes(sqlite_template.read_bytes())
        yield f"sqlite+aiosqlite:///{path}"
    else:
        template = request.getfixturevalue("pg_template")
        async with fresh_pg_database(template) as url:
            yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest_asyncio.fixture
async def svc(settings: Settings) -> AsyncIterator[Services]:
    db = Database(settings.effective_database_url)
    services = Services(settings=settings, db=db, broker=MemoryBroker(), bot=build_bot(settings))
    try:
        yield services
    finally:
        await db.dispose()


class LiveServer:
    """A real uvicorn serving the app on a loopback port, in this event loop."""

    def __init__(self, settings: Settings, *, timers: bool = True) -> None:
        self.settings = settings
        self.app = create_app(settings, timers=timers)
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=settings.port,
                ws_max_size=settings.max_frame_bytes * 4,
                ws_per_message_deflate=False,
                log_level="warning",
                access_log=False,
                lifespan="on",
            )
        )
        self._task: asyncio.Task[None] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.settings.port}"

    @property
    def origin(self) -> str:
        return self.http

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve())
        deadline = asyncio.get_running_loop().time() + SERVER_START_S
        while not self.server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("uvicorn stopped before it started serving")
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"uvicorn did not start within {SERVER_START_S:.0f} s")
            await asyncio.sleep(0.02)

    async def __aenter__(self) -> LiveServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await asyncio.wait_for(self._task, 15)


@pytest_asyncio.fixture
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    port = free_port()
    server = LiveServer(replace(settings, port=port, public_url=f"http://127.0.0.1:{port}"))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
