"""Every workspace test loads the bot once per run and hashes passwords cheaply."""

from __future__ import annotations

import pytest

from tests.counsellor_ui.support import use_quick_setup


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)
