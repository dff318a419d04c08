"""Small fixtures for the bot engine tests: an engine with no typing delay, and a
helper that writes a script set into a temporary directory."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from bot_engine import BotEngine
from tests.bot_engine.support import INSTANT, MINI_EN, MINI_RESOURCES


@pytest.fixture(scope="session")
def engine() -> BotEngine:
    return BotEngine.load(config=INSTANT)


@pytest.fixture
def write_script(tmp_path: Path) -> Callable[..., Path]:
    """Write ``{file name: text}`` into a fresh directory and return it."""

    def write(files: dict[str, str], name: str = "script") -> Path:
        directory = tmp_path / name
        directory.mkdir()
        for file_name, text in files.items():
            (directory / file_name).write_text(textwrap.dedent(text), encoding="utf-8")
        return directory

    return write


@pytest.fixture
def mini(write_script: Callable[..., Path]) -> Path:
    return write_script({"en.toml": MINI_EN, "resources-en.toml": MINI_RESOURCES})


@pytest.fixture
def mini_engine(mini: Path) -> BotEngine:
    return BotEngine.load(mini, config=INSTANT)
