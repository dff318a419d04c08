"""Sizes and durations of a bench run, from the command line (``--quick`` for a smoke run)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("relay", "bot", "crisis", "claims", "idle")
BACKENDS = ("sqlite", "postgres")


@dataclass(frozen=True)
class Config:
    # --- what runs ---
    scenarios: tuple[str, ...] = SCENARIOS
    backends: tuple[str, ...] = BACKENDS
    baselines: bool = True  # the echo server and the bare relay beside the gateway
    workers: int = 2  # client processes
    quick: bool = False
    # --- 1. relay person -> counsellor ---
    chats: int = 1000
    relay_counsellors: int = 20  # each holds chats / relay_counsellors chats
    warmup_s: float = 1.0
    saturation_s: float = 6.0
    rate: float = 100.0  # offered messages per second, all chats together
    fixed_s: float = 10.0
    # --- 2. bot replies ---
    bot_turns: int = 150
    bot_people: int = 20
    bot_people_s: float = 10.0
    # --- 3. crisis -> dashboards ---
    crisis_counsellors: int = 50
    crisis_waiting: int = 20
    crisis_reps: int = 20
    # --- 4. claims under contention ---
    claim_sessions: int = 100
    claim_counsellors: int = 10
    # --- 5. idle sessions ---
    idle_sessions: int = 10_000
    idle_batch: int = 1000
    idle_window_s: float = 30.0
    # Opening stops after this, whatever was reached. 75 s: the gateway opens a
    # session (and stores its greeting) at about 200 a second on SQLite here.
    idle_open_budget_s: float = 75.0
    # --- plumbing ---
    setup_concurrency: int = 32  # sockets each client process sets up at once
    settle_s: float = 2.0  # a pause for the server to finish what a phase started
    lead_s: float = 0.5  # a timed phase starts this long after the coordinator asks for it
    step_timeout_s: float = 30.0  # one protocol step (a reply, a frame) at most
    unit_timeout_s: float = 480.0  # one scenario against one server at most
    pg_dsn: str = "postgresql://postgres@127.0.0.1:5432/test"
    redis_url: str = "redis://127.0.0.1:6379/0"
    source: Path = ROOT  # the checkout whose gateway is measured
    at: str | None = None  # or this commit of this repository (exported by git archive)
    write_docs: bool = True  # fill the results section of docs/performance.md

    def to_json(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


# A smoke run: every scenario and backend, tiny sizes, well under a minute.
QUICK: dict[str, Any] = {
    "chats": 10,
    "relay_counsellors": 2,
    "warmup_s": 0.2,
    "saturation_s": 0.8,
    "rate": 40.0,
    "fixed_s": 0.8,
    "bot_turns": 8,
    "bot_people": 3,
    "bot_people_s": 1.0,
    "crisis_counsellors": 3,
    "crisis_waiting": 2,
    "crisis_reps": 2,
    "claim_sessions": 10,
    "claim_counsellors": 2,
    "idle_sessions": 100,
    "idle_batch": 50,
    "idle_window_s": 1.0,
    "idle_open_budget_s": 8.0,
    "settle_s": 0.2,
    "lead_s": 0.2,
    "write_docs": False,
}

_SIZES = {
    "chats": (int, "live chats in the relay scenario"),
    "relay_counsellors": (int, "counsellors holding those chats"),
    "warmup_s": (float, "seconds of load before a relay measurement window"),
    "saturation_s": (float, "relay saturation window, seconds"),
    "rate": (float, "relay fixed offered rate, messages/s over all chats"),
    "fixed_s": (float, "relay fixed-rate window, seconds"),
    "bot_turns": (int, "turns of the single person talking to the bot"),
    "bot_people": (int, "people talking to the bot at 1 turn/s each"),
    "bot_people_s": (float, "seconds those people talk"),
    "crisis_counsellors": (int, "counsellors with a dashboard open"),
    "crisis_waiting": (int, "people already waiting in the queue"),
    "crisis_reps": (int, "crisis messages measured"),
    "claim_sessions": (int, "queued sessions to claim"),
    "claim_counsellors": (int, "counsellors racing to claim them"),
    "idle_sessions": (int, "idle widget sessions to open"),
    "idle_batch": (int, "sessions per timed batch"),
    "idle_window_s": (float, "idle window over which CPU is measured, seconds"),
    "idle_open_budget_s": (float, "seconds at most spent opening idle sessions, per server"),
    "workers": (int, "client processes"),
    "setup_concurrency": (int, "sockets each client process sets up at once"),
}


def _csv(choices: tuple[str, ...]) -> Any:
    def parse(raw: str) -> tuple[str, ...]:
        picked = tuple(part.strip() for part in raw.split(",") if part.strip())
        unknown = [p for p in picked if p not in choices]
        if unknown or not picked:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)}")
        return picked

    return parse


def parse_args(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Measure the Haven gateway against a bare echo server and a bare relay.",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run (< 1 min)")
    parser.add_argument(
        "--only", type=_csv(SCENARIOS), help=f"scenarios to run, of {','.join(SCENARIOS)}"
    )
    parser.add_argument(
        "--backends", type=_csv(BACKENDS), help="databases to run the gateway on (default: both)"
    )
    parser.add_argument(
        "--no-baselines", action="store_true", help="skip the echo and bare relay servers"
    )
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/performance.md")
    parser.add_argument(
        "--source", type=Path, help="checkout whose gateway is measured (default: this one)"
    )
    parser.add_argument(
        "--at",
        metavar="REV",
        help="measure the gateway as committed at REV (e.g. HEAD), not the working tree",
    )
    parser.add_argument("--pg-dsn", help=f"PostgreSQL server (default {Config.pg_dsn})")
    parser.add_argument("--redis-url", help=f"Redis server (default {Config.redis_url})")
    for name, (kind, help_text) in _SIZES.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=kind,
            help=f"{help_text} (default {getattr(Config, name)})",
        )
    args = parser.parse_args(argv)

    config = Config()
    if args.quick:
        config = replace(config, quick=True, **QUICK)
    overrides: dict[str, Any] = {
        name: getattr(args, name) for name in _SIZES if getattr(args, name) is not None
    }
    if args.only:
        overrides["scenarios"] = args.only
    if args.backends:
        overrides["backends"] = args.backends
    if args.no_baselines:
        overrides["baselines"] = False
    if args.no_docs:
        overrides["write_docs"] = False
    if args.source:
        overrides["source"] = args.source.resolve()
    if args.at:
        overrides["at"] = args.at
    if args.pg_dsn:
        overrides["pg_dsn"] = args.pg_dsn
    if args.redis_url:
        overrides["redis_url"] = args.redis_url
    return replace(config, **overrides)
