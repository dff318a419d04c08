"""``haven``: migrate, serve, create-user, demo, history, bot."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import uvicorn
from sqlalchemy import select

from bot_engine import ScriptError
from bot_engine.cli import main as bot_main
from gateway import migrations
from gateway.actions.canned import list_canned, save_canned
from gateway.actions.redact_sweep import redact_closed
from gateway.actions.retention import purge_expired
from gateway.actions.staff import StaffError, create_staff
from gateway.app import build_bot, create_app
from gateway.broker import MemoryBroker
from gateway.connection_timeouts import server_config
from gateway.db import Database, create_engine
from gateway.history import HistoryCounts, generate_history, has_history
from gateway.models import Staff
from gateway.services import Services
from gateway.settings import Settings, SettingsError, load_settings
from gateway.types import StaffRole

DEMO_ACCOUNTS = (
    ("sam", "Sam", "demo-counsellor-1", StaffRole.COUNSELLOR),
    ("jo", "Jo", "demo-counsellor-2", StaffRole.COUNSELLOR),
    ("alex", "Alex", "demo-supervisor-1", StaffRole.SUPERVISOR),
    # Only admins manage staff accounts (counsellor_ui/staff_views.py).
    ("morgan", "Morgan", "demo-admin-1", StaffRole.ADMIN),
)
# The fictional charity whose site /demo is (gateway/static/demo.html).
DEMO_SERVICE_NAME = "Harbour Lane Listening Service"
# (shortcut, title, text): the demo's canned responses, offered after "/" in a chat.
DEMO_CANNED = (
    (
        "wait-thanks",
        "Thank you for waiting",
        "Thank you for waiting. I'm here now and I've read what you wrote.",
    ),
    ("take-time", "Take your time", "Take your time. There's no rush, I'm here with you."),
    (
        "safe-now",
        "Are you safe right now?",
        "I want to check how you are right now. Are you safe at the moment?",
    ),
    (
        "breathe",
        "Breathing together",
        "Would it help to slow down for a moment and breathe together?",
    ),
    (
        "ending",
        "Before we finish",
        "Before we finish, is there anything else you'd like to talk about today?",
    ),
)


def _migrate(settings: Settings) -> None:
    settings.ensure_data_dir()
    migrations.upgrade(settings.effective_database_url)


def serve(settings: Settings) -> None:
    """Run uvicorn with the protocol's limits and the gateway's own timeouts applied."""
    server = uvicorn.Server(server_config(create_app(settings), settings))
    server.run()
    if not server.started:  # the port was taken, say: uvicorn has said why
        sys.exit(3)


async def _with_services(settings: Settings) -> Services:
    return Services(
        settings=settings,
        db=Database(settings.effective_database_url),
        broker=MemoryBroker(),
        bot=build_bot(settings),
    )


async def _create_user(
    settings: Settings, username: str, name: str, password: str, role: StaffRole
) -> None:
    svc = await _with_services(settings)
    try:
        await create_staff(svc, username=username, display_name=name, password=password, role=role)
    finally:
        await svc.db.dispose()


async def _purge(settings: Settings) -> str:
    """``haven purge``: the retention purge and the redaction sweep, once, now."""
    svc = await _with_services(settings)
    try:
        swept = await redact_closed(svc)
        result = await purge_expired(svc)
    finally:
        await svc.db.dispose()
    days = settings.retention_days
    lines = [
        f"Removed the text of {result.sessions} conversations closed more than {days} days ago"
        f" and the words of {result.rating_comments} older ratings.",
        f"Masked contact details in {swept} closed conversations."
        if settings.redact
        else "Redaction is off (HAVEN_REDACT).",
    ]
    if not result.files_clean:
        lines.append("The SQLite log could not be checkpointed now (readers); run again.")
    return "\n".join(lines)


async def _seed_demo(settings: Settings) -> None:
    svc = await _with_services(settings)
    try:
        for username, name, password, role in DEMO_ACCOUNTS:
            async with svc.read() as session:
                exists = (
                    await session.execute(select(Staff.id).where(Staff.username == username))
                ).scalar_one_or_none()
            if exists is None:
                await create_staff(
                    svc, username=username, display_name=name, password=password, role=role
                )
        await _seed_canned(svc)
    finally:
        await svc.db.dispose()


async def _seed_canned(svc: Services) -> None:
    """The demo's canned responses, once (a supervisor may have changed them since)."""
    if await list_canned(svc):
        return
    async with svc.read() as session:
        lead = (
            (await session.execute(select(Staff).where(Staff.role == StaffRole.SUPERVISOR.value)))
            .scalars()
            .first()
        )
    if lead is None:
        return
    for shortcut, title, body in DEMO_CANNED:
        await save_canned(svc, staff=lead, title=title, body=body, shortcut=shortcut)


# The demo's history (gateway/history.py): two months at a small helpline's volume,
# written once (the marker: any session older than today), in a few seconds.
DEMO_HISTORY_DAYS = 60
DEMO_SESSIONS_PER_DAY = 40
DEMO_HISTORY_SEED = 11


async def _history(
    settings: Settings, *, days: int, sessions_per_day: float, seed: int, once: bool
) -> HistoryCounts | None:
    """Write synthetic history; with ``once``, only if there is none yet (None: skipped)."""
    engine = create_engine(settings.effective_database_url)
    try:
        if once and await has_history(engine, now=datetime.now(UTC), timezone=settings.timezone):
            return None
        return await generate_history(
            engine,
            days=days,
            sessions_per_day=sessions_per_day,
            seed=seed,
            timezone=settings.timezone,
            outcomes=settings.wrapup_outcomes,
        )
    finally:
        await engine.dispose()


def history(settings: Settings, *, days: int, sessions_per_day: float, seed: int) -> None:
    if not settings.development:
        raise SettingsError(
            "`haven history` writes made-up chats into the database and runs only in development."
        )
    if days < 1 or sessions_per_day <= 0:
        raise SettingsError("--days and --sessions-per-day must be positive.")
    _migrate(settings)
    counts = asyncio.run(
        _history(settings, days=days, sessions_per_day=sessions_per_day, seed=seed, once=False)
    )
    assert counts is not None
    print(_history_line(counts, days))


def seed_demo_history(settings: Settings) -> HistoryCounts | None:
    """The demo's history, the first time only (None: there was history already)."""
    seeded = asyncio.run(
        _history(
            settings,
            days=DEMO_HISTORY_DAYS,
            sessions_per_day=DEMO_SESSIONS_PER_DAY,
            seed=DEMO_HISTORY_SEED,
            once=True,
        )
    )
    if seeded is not None:
        print(_history_line(seeded, DEMO_HISTORY_DAYS), flush=True)
    return seeded


def _history_line(counts: HistoryCounts, days: int) -> str:
    return (
        f"Synthetic history of {days} days: {counts.sessions} sessions, {counts.waits} waits "
        f"({counts.abandoned} given up), {counts.wrap_ups} wrap-ups, {counts.ratings} ratings."
    )


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    second = getpass.getpass("Password again: ")
    if first != second:
        raise StaffError("The two passwords did not match.")
    return first


def demo(settings: Settings, environ: Mapping[str, str] = os.environ) -> None:
    if not settings.development:
        raise SettingsError("`haven demo` seeds known passwords and runs only in development.")
    if "HAVEN_SERVICE_NAME" not in environ:
        # The demo page is this fictional charity's site: the widget and the staff
        # pages carry its name too, unless the person trying the demo chose another.
        settings = replace(settings, service_name=DEMO_SERVICE_NAME)
    _migrate(settings)
    asyncio.run(_seed_demo(settings))
    seed_demo_history(settings)
    url = settings.effective_public_url
    print(
        "\nHaven Gateway demo\n"
        f"  Demo charity page with the chat widget: {url}/demo\n"
        f"  Counsellor dashboard:                   {url}/counsellor/\n"
        "  Demo accounts (development only):\n"
        + "".join(
            f"    {role.value:<11} {username:<5} password {password}\n"
            for username, _name, password, role in DEMO_ACCOUNTS
        )
        + "  Stop with Ctrl+C.\n",
        flush=True,
    )
    serve(settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="haven", description="Haven Gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    serve_p = commands.add_parser("serve", help="run the gateway")
    serve_p.add_argument("--host")
    serve_p.add_argument("--port", type=int)
    serve_p.add_argument("--migrate", action="store_true", help="apply migrations first")
    user = commands.add_parser("create-user", help="create a staff account")
    user.add_argument("username")
    user.add_argument("--name", help="display name shown to the person (default: username)")
    user.add_argument("--role", choices=[r.value for r in StaffRole], default="counsellor")
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    demo_p = commands.add_parser("demo", help="migrate, seed demo accounts and serve the demo")
    demo_p.add_argument("--port", type=int)
    hist = commands.add_parser(
        "history", help="write synthetic history for a demo (development only; no message text)"
    )
    hist.add_argument("--days", type=int, default=90, help="days before today (default 90)")
    hist.add_argument(
        "--sessions-per-day", type=float, default=DEMO_SESSIONS_PER_DAY, help="average per day"
    )
    hist.add_argument("--seed", type=int, default=DEMO_HISTORY_SEED, help="random seed")
    commands.add_parser(
        "purge",
        help="remove the text of conversations past HAVEN_RETENTION_DAYS and mask contact "
        "details in closed ones now (the running gateway does both on its own)",
    )
    bot = commands.add_parser("bot", help="bot script tools: lint PATH, try PATH")
    bot.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "bot":
        return int(bot_main(list(args.args)))
    try:
        settings = load_settings()
        overrides = {k: getattr(args, k) for k in ("host", "port") if getattr(args, k, None)}
        if overrides:
            settings = replace(settings, **overrides)
        if args.command == "migrate":
            _migrate(settings)
            print("Database is up to date.")
        elif args.command == "serve":
            if args.migrate:
                _migrate(settings)
            serve(settings)
        elif args.command == "create-user":
            password = _read_password(args.password_stdin)
            role = StaffRole(args.role)
            # The first-run path (README): the database is made or brought up to date first.
            _migrate(settings)
            asyncio.run(
                _create_user(settings, args.username, args.name or args.username, password, role)
            )
            print(f"Created {role.value} {args.username!r}.")
            print(f"Sign in at {settings.effective_public_url}/counsellor/sign-in")
        elif args.command == "demo":
            demo(settings)
        elif args.command == "purge":
            print(asyncio.run(_purge(settings)))
        elif args.command == "history":
            history(
                settings, days=args.days, sessions_per_day=args.sessions_per_day, seed=args.seed
            )
    except (SettingsError, StaffError) as exc:
        print(f"haven: {exc}", file=sys.stderr)
        return 2
    except ScriptError as exc:
        # The service never runs on half a script: say every problem, one per line.
        print(f"haven: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
