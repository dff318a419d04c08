"""The ``haven`` command: migrate, create-user (password never from an argument), script errors."""

from __future__ import annotations

import asyncio
import io
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway import cli
from gateway.actions.signin import sign_in
from gateway.app import build_bot
from gateway.broker import MemoryBroker
from gateway.db import Database
from gateway.models import Staff
from gateway.services import Services
from gateway.settings import Settings

SCRIPTS = Path(__file__).resolve().parents[2] / "bot_engine" / "scripts" / "default"


async def _staff(data: Path, password: str) -> tuple[str, str, bool]:
    settings = Settings(data_dir=data)
    svc = Services(
        settings=settings,
        db=Database(settings.effective_database_url),
        broker=MemoryBroker(),
        bot=build_bot(settings),
    )
    try:
        async with svc.read() as session:
            staff = (await session.execute(select(Staff))).scalar_one()
        ok = (await sign_in(svc, username="robin", password=password)).staff is not None
        return staff.display_name, staff.role, ok
    finally:
        await svc.db.dispose()


def test_migrate_then_create_user_reads_the_password_from_stdin(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["migrate"]) == 0
    assert (env / "haven.db").exists()
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    args = ["create-user", "robin", "--name", "Robin", "--role", "supervisor", "--password-stdin"]
    assert cli.main(args) == 0
    assert "Created supervisor 'robin'" in capsys.readouterr().out
    assert asyncio.run(_staff(env, "a long enough password")) == ("Robin", "supervisor", True)


def test_the_first_admin_is_created_on_a_fresh_install(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's first-run path: no `haven migrate` first, the database is made."""
    assert not (env / "haven.db").exists()
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    args = ["create-user", "robin", "--name", "Robin", "--role", "admin", "--password-stdin"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "Created admin 'robin'" in out and "/counsellor/sign-in" in out
    assert asyncio.run(_staff(env, "a long enough password")) == ("Robin", "admin", True)


def test_create_user_has_no_password_argument() -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["create-user", "robin", "--password", "secret"])


def test_a_short_password_is_refused_with_a_clear_message(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["migrate"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["create-user", "robin", "--password-stdin"]) == 2
    assert "at least" in capsys.readouterr().err


def test_a_broken_bot_script_is_refused_at_start_with_one_line_per_problem(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scripts = tmp_path / "scripts"
    shutil.copytree(SCRIPTS, scripts)
    english = scripts / "en.toml"
    english.write_text(english.read_text().replace('next = "mood_sad"', 'next = "nowhere"', 1))
    monkeypatch.setenv("HAVEN_BOT_SCRIPTS_DIR", str(scripts))
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "en.toml:" in err and "unknown target node 'nowhere'" in err
    assert "Traceback" not in err


def test_production_refuses_the_demo_and_a_missing_secret(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HAVEN_ENV", "production")
    assert cli.main(["demo"]) == 2
    assert "SECRET_KEY" in capsys.readouterr().err


def test_the_demo_carries_the_demo_charitys_name_unless_one_is_chosen(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The demo page is Harbour Lane's site; the widget and staff pages say so too.
    served: list[Settings] = []
    monkeypatch.setattr(cli, "serve", served.append)  # stop before uvicorn takes over
    monkeypatch.delenv("HAVEN_SERVICE_NAME", raising=False)
    assert cli.main(["demo"]) == 0
    monkeypatch.setenv("HAVEN_SERVICE_NAME", "Hafan Helpline")
    assert cli.main(["demo"]) == 0
    assert [s.service_name for s in served] == [cli.DEMO_SERVICE_NAME, "Hafan Helpline"]
    assert "Demo charity page" in capsys.readouterr().out
