"""Migration 0005 carries each wrap-up's single outcome into ``wrap_up_outcomes`` and back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gateway import migrations


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def test_one_outcome_becomes_a_row_and_comes_back(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrations.upgrade(url, "0004")
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO chat_sessions (id, state, priority, queue_front, risk_level, locale,"
            " last_seq, created_at, user_seen_at, rated)"
            " VALUES (7, 'closed', 1, 0, 'none', 'en', 0, '2026-01-01', '2026-01-01', 0)"
        )
        db.execute(
            "INSERT INTO wrap_ups (session_id, outcome, risk_level, notes, created_at)"
            " VALUES (7, 'Safety plan agreed', 'low', '', '2026-01-01')"
        )
        db.execute(
            "INSERT INTO messages (id, session_id, seq, sender, text, created_at)"
            " VALUES (1, 7, 1, 'user', 'hello', '2026-01-01')"
        )
    migrations.upgrade(url, "0005")
    assert _rows(path, "SELECT session_id, outcome FROM wrap_up_outcomes") == [
        (7, "Safety plan agreed")
    ]
    # Nothing that points at the altered tables was lost on the way.
    assert _rows(path, "SELECT session_id, text FROM messages") == [(7, "hello")]
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO wrap_up_outcomes (session_id, outcome)"
            " VALUES (7, 'Listened and supported')"
        )
    migrations.downgrade(url, "0004")
    # Going back keeps one outcome per wrap-up (the first in alphabetical order).
    assert _rows(path, "SELECT session_id, outcome FROM wrap_ups") == [
        (7, "Listened and supported")
    ]
