"""The fault and abuse suite hashes staff passwords cheaply, as the workspace tests do,
and drives Chromium with the browser tests' own fixtures."""

from __future__ import annotations

import pytest

from tests.counsellor_ui.support import use_quick_setup
from tests.e2e.conftest import axe_source, browser  # noqa: F401 (fixtures used here)


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)
