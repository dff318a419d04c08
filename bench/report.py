"""Render a bench results file as tables: plain text for the terminal, markdown for
docs/performance.md (whose results section it can rewrite).

    python -m bench.report                      # the latest bench/results/*.json
    python -m bench.report FILE --markdown
    python -m bench.report FILE --write-docs    # fill the results section of the docs
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.config import ROOT

RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "performance.md"
START = "<!-- bench-results:start (written by python -m bench.report --write-docs) -->"
END = "<!-- bench-results:end -->"

Row = dict[str, Any]
Cell = str | Callable[[Row], Any]


def _server(row: Row) -> str:
    return str(row["server"]) if row.get("db", "-") == "-" else f"{row['server']}, {row['db']}"


def _pair(a: str, b: str) -> Callable[[Row], str]:
    return lambda row: f"{fmt(row.get(a))} / {fmt(row.get(b))}"


TABLES: list[tuple[str, str, Callable[[Row], bool], list[tuple[str, Cell]]]] = [
    (
        "relay",
        "1. Relay person -> counsellor: delivery latency (ms) is the person's send to the "
        "counsellor socket's message frame (echo: to the ack)",
        lambda row: row.get("phase") != "setup",
        [
            ("server", _server),
            ("load", "phase"),
            ("chats", "chats"),
            ("delivered/s", "delivered_per_s"),
            ("p50", "p50_ms"),
            ("p95", "p95_ms"),
            ("p99", "p99_ms"),
            ("max", "max_ms"),
            ("ack p50/p99", _pair("ack_p50_ms", "ack_p99_ms")),
            ("backlog s", "backlog_drain_s"),
            ("lost", "lost"),
            ("server CPU %", "server_cpu_pct"),
            ("client CPU %", "client_cpu_pct"),
            ("other CPU %", "other_cpu_pct"),
        ],
    ),
    (
        "relay",
        "1. Relay, gateway setup through the protocol (join the queue, claim over HTTP, "
        "reconnect both sides)",
        lambda row: row.get("phase") == "setup",
        [
            ("server", _server),
            ("chats", "chats"),
            ("queue s", "queue_s"),
            ("queued/s", "queued_per_s"),
            ("claims/s", "claims_per_s"),
            ("attach s", "attach_s"),
            ("attached/s", "attached_per_s"),
        ],
    ),
    (
        "bot",
        "2. Bot replies (typing pause 0): ms from the say to the bot's first message "
        "(echo: the ack); turn = to its typing off",
        lambda row: True,
        [
            ("server", _server),
            ("load", "phase"),
            ("turns", "n"),
            ("p50", "p50_ms"),
            ("p95", "p95_ms"),
            ("p99", "p99_ms"),
            ("max", "max_ms"),
            ("turn p99", "turn_p99_ms"),
            ("failed", "failed"),
            ("server CPU %", "server_cpu_pct"),
            ("other CPU %", "other_cpu_pct"),
        ],
    ),
    (
        "crisis",
        "3. Crisis -> dashboards: ms from the crisis message to each dashboard's queue frame "
        "listing the person",
        lambda row: True,
        [
            ("server", _server),
            ("counsellors", "counsellors"),
            ("waiting", "waiting"),
            ("samples", "n"),
            ("p50", "p50_ms"),
            ("p95", "p95_ms"),
            ("p99", "p99_ms"),
            ("max", "max_ms"),
            ("all dashboards p50/p99", _pair("all_p50_ms", "all_p99_ms")),
            ("same / other process p50", _pair("same_process_p50_ms", "other_process_p50_ms")),
            ("person's queue p50", "person_p50_ms"),
            ("missed", "missed"),
            ("server CPU %", "server_cpu_pct"),
            ("other CPU %", "other_cpu_pct"),
        ],
    ),
    (
        "claims",
        "4. Claims under contention: counsellors posting the claim form down the same list",
        lambda row: True,
        [
            ("server", _server),
            ("counsellors", "counsellors"),
            ("sessions", "sessions"),
            ("won", "won"),
            ("taken", "taken"),
            ("claims/s", "claims_per_s"),
            ("attempts/s", "attempts_per_s"),
            ("p50 ms", "p50_ms"),
            ("p99 ms", "p99_ms"),
            ("won twice", "sessions_won_twice"),
            ("not won", "sessions_not_won"),
            ("server CPU %", "server_cpu_pct"),
            ("other CPU %", "other_cpu_pct"),
        ],
    ),
    (
        "idle",
        "5. Idle sessions: server memory per session, CPU while idle, time to open each batch",
        lambda row: True,
        [
            ("server", _server),
            ("sessions", _pair("sessions", "wanted")),
            ("KiB/session", "kib_per_session"),
            ("RSS before/open MiB", _pair("rss_before_mib", "rss_open_mib")),
            ("idle CPU %", "idle_cpu_pct"),
            ("idle window", "phase"),
            ("opened/s", "open_per_s"),
            ("first/last batch s", _pair("first_batch_s", "last_batch_s")),
            ("slowdown x", "slowdown"),
            ("still open", "still_open"),
            ("other CPU %", "other_cpu_pct"),
        ],
    ),
]


def fmt(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _cells(rows: list[Row], columns: list[tuple[str, Cell]]) -> list[list[str]]:
    out = [[header for header, _ in columns]]
    for row in rows:
        out.append(
            [fmt(cell(row) if callable(cell) else row.get(cell)) for _header, cell in columns]
        )
    return out


def _text(cells: list[list[str]]) -> str:
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    lines = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _markdown(cells: list[list[str]]) -> str:
    lines = ["| " + " | ".join(line) + " |" for line in cells]
    lines.insert(
        1, "|" + "|".join(" --- " if i == 0 else " ---: " for i in range(len(cells[0]))) + "|"
    )
    return "\n".join(lines)


def _sections(
    outcome: Row,
    render: Callable[[list[list[str]]], str],
    title: Callable[[str], str],
    bullet: str,
) -> list[str]:
    out: list[str] = []
    for scenario, caption, keep, columns in TABLES:
        rows = [r for r in outcome["rows"] if r["scenario"] == scenario and keep(r)]
        if rows:
            out += [title(caption), render(_cells(rows, columns)), ""]
    idle = [r for r in outcome["rows"] if r["scenario"] == "idle" and r.get("batch_s")]
    if idle:
        out.append("Seconds to open each successive batch of idle sessions:")
        if bullet != "  ":
            out.append("")
        out += [
            f"{bullet}{_server(r)}, {r.get('batch_size', '')} a batch: "
            + " ".join(fmt(s) for s in r["batch_s"])
            for r in idle
        ]
        out.append("")
    return out


def machine_line(outcome: Row) -> str:
    m = outcome.get("machine", {})
    return (
        f"{m.get('cpu_model')}, {m.get('cores')} cores, {m.get('memory_gib')} GiB; "
        f"Python {m.get('python')}, SQLite {m.get('sqlite')}, PostgreSQL {m.get('postgresql')}, "
        f"Redis {m.get('redis')}"
    )


def source_line(outcome: Row) -> str:
    s = outcome.get("source", {})
    changed = s.get("uncommitted_gateway_changes") or []
    dirty = f" plus uncommitted changes to {', '.join(changed)}" if changed else ""
    return f"gateway at {s.get('commit')} ({s.get('subject')}){dirty}"


def console(outcome: Row) -> str:
    out = [
        "",
        f"Machine: {machine_line(outcome)}",
        f"Measured: {source_line(outcome)}",
        "",
        *_sections(outcome, _text, lambda caption: caption + ":", "  "),
    ]
    if outcome.get("errors"):
        out.append("Notes and errors:")
        out += ["  " + _error(e) for e in outcome["errors"]]
    return "\n".join(out)


def _error(error: Row) -> str:
    where = f"{error.get('scenario', '')} {error.get('server', '')} {error.get('db', '')}".strip()
    return f"[{where}] {error['error']}" if where else str(error["error"])


def markdown(outcome: Row, path: Path | None = None) -> str:
    cfg = outcome.get("config", {})
    out = [
        f"Run of {outcome.get('started_at')} ({outcome.get('seconds')} s"
        + (f", `{path.relative_to(ROOT)}`" if path else "")
        + ").",
        "",
        f"* Machine: {machine_line(outcome)}.",
        f"* Measured: {source_line(outcome)}.",
        f"* Sizes: {cfg.get('chats')} chats, {cfg.get('rate')} msgs/s offered, "
        f"{cfg.get('bot_people')} bot people, {cfg.get('crisis_counsellors')} dashboards with "
        f"{cfg.get('crisis_waiting')} waiting, {cfg.get('claim_counsellors')} counsellors "
        f"claiming {cfg.get('claim_sessions')} sessions, {cfg.get('idle_sessions')} idle "
        f"sessions; {cfg.get('workers')} client processes.",
        "",
        *_sections(outcome, _markdown, lambda caption: f"#### {caption}\n", "* "),
    ]
    if outcome.get("errors"):
        out.append("Notes from the run:\n")
        out += ["* " + _error(e).replace("\n", " ") for e in outcome["errors"]]
    return "\n".join(out).rstrip() + "\n"


def write_docs(outcome: Row, path: Path | None = None, docs: Path = DOCS) -> None:
    text = docs.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{docs} has no results section ({START} ... {END})")
    head, rest = text.split(START, 1)
    _old, tail = rest.split(END, 1)
    docs.write_text(f"{head}{START}\n\n{markdown(outcome, path)}\n{END}{tail}")


def latest() -> Path:
    files = sorted(RESULTS.glob("*.json"), key=lambda p: p.stat().st_mtime)
    if not files:
        raise SystemExit("no results in bench/results/: run `make bench` first")
    return files[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("file", nargs="?", type=Path, help="results file (default: the latest)")
    parser.add_argument("--markdown", action="store_true", help="print markdown")
    parser.add_argument("--write-docs", action="store_true", help="rewrite docs/performance.md")
    args = parser.parse_args(argv)
    path = (args.file or latest()).resolve()
    outcome = json.loads(path.read_text())
    if args.write_docs:
        write_docs(outcome, path)
        print(f"wrote the results of {path.name} into {DOCS.relative_to(ROOT)}")
    elif args.markdown:
        print(markdown(outcome, path))
    else:
        print(console(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main())
