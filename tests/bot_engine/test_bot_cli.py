"""The script author's tools: ``lint``, ``try`` and ``replay``."""

from __future__ import annotations

import io
import runpy
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot_engine.cli import main
from tests.bot_engine.support import MINI_EN, MINI_RESOURCES, TRANSCRIPTS

Write = Callable[..., Path]


def test_lint_default_is_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint"]) == 0
    assert capsys.readouterr().out == "ok\n"


def test_lint_reports_one_line_per_problem(
    write_script: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    text = MINI_EN.replace('next = "agreed"', 'next = "agred"').replace(
        'replies = ["Goodbye."]', 'replies = ["Goodbye {nope}"]'
    )
    directory = write_script({"en.toml": text, "resources-en.toml": MINI_RESOURCES})
    assert main(["lint", str(directory)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "en.toml:hello:choices[0].next: unknown target node 'agred'" in lines
    assert "en.toml:bye:replies[0]: unknown variable {nope}" in lines
    assert "ok" not in lines


def test_lint_warnings(write_script: Write, capsys: pytest.CaptureFixture[str]) -> None:
    welsh = (
        '[[node]]\nid = "hello"\nreplies = ["Helo {phone}"]\nlabels = { yes = "Ydw", no = "Na" }\n'
    )
    directory = write_script(
        {"en.toml": MINI_EN, "cy.toml": welsh, "resources-en.toml": MINI_RESOURCES}
    )
    assert main(["lint", str(directory)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("ok (")
    assert "warnings)" in out[-1]
    assert main(["lint", str(directory), "--strict"]) == 1
    one = write_script(
        {
            "en.toml": MINI_EN.replace(
                'replies = ["Sorry you feel sad.", "Try writing it down."]\n',
                'replies = ["Sorry you feel sad."]\n',
            ),
            "resources-en.toml": MINI_RESOURCES,
        },
        name="one",
    )
    assert main(["lint", str(one)]) == 0


def test_replay(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    files = [str(p) for p in sorted(TRANSCRIPTS.glob("*.txt"))]
    assert main(["replay", *files]) == 0
    out = capsys.readouterr().out
    assert "ok:" in out
    assert "60 of 60 nodes visited" in out
    partial = main(["replay", files[0]])
    assert partial == 0
    assert "not visited:" in capsys.readouterr().out
    bad = tmp_path / "bad.txt"
    bad.write_text("! started\nreply: nothing like this\nreply: *\n", encoding="utf-8")
    assert main(["replay", str(bad), str(tmp_path / "missing.txt")]) == 1
    out = capsys.readouterr().out
    assert "bad.txt:1: message" in out
    assert "missing.txt" in out


def test_replay_with_a_broken_script(
    write_script: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_script({"en.toml": "[script]\n"})
    assert main(["replay", "x.txt", "--script", str(directory)]) == 1
    assert "(script):start: is required" in capsys.readouterr().out


def _chat(monkeypatch: pytest.MonkeyPatch, lines: list[str], *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    code = main(["try", *args])
    return code, out.getvalue()


def test_try_a_whole_conversation(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = _chat(
        monkeypatch,
        [
            "hi", "1", "11", "/state", "/checkin", "/wait 90", "/checkin", "/counsellors 0",
            "/counsellor", "2", "/closed", "/counsellor", "/open", "/counsellors x", "/nonsense",
            "/return", "I took 30 paracetamol", "hello", "/return", "!stop",
        ],
    )  # fmt: skip
    assert code == 0
    assert "bot: Hi, and welcome to Haven" in out
    assert "[1] Yes, continue" in out
    assert "Anxiety can feel really overwhelming" in out
    assert "check-in scheduled in 60 min" in out
    assert "'node': 'mood_anxious'" in out
    assert "none of our counsellors is free" in out
    assert "aren't online right now" in out
    assert "** escalate: crisis (crisis:method:overdose) matched '30 paracetamol'" in out
    assert "the bot stays quiet" in out
    assert "** end of chat (erase=False)" in out


def test_try_in_welsh_until_input_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = _chat(monkeypatch, ["ydw"], "--locale", "cy", "--counsellors", "1")
    assert code == 0
    assert "Ydw, parhau" in out
    assert "Sut wyt ti'n teimlo" in out
    code, out = _chat(monkeypatch, ["/quit"], "--closed")
    assert code == 0


def test_try_refuses_a_broken_script(monkeypatch: pytest.MonkeyPatch, write_script: Write) -> None:
    directory = write_script({"en.toml": "[script]\n"})
    code, out = _chat(monkeypatch, [], str(directory))
    assert code == 1
    assert "is required" in out


def test_python_dash_m(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["python -m bot_engine", "lint"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module("bot_engine", run_name="__main__")
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == "ok"
