"""`make audit` reads pip-audit's report honestly (issue 12, item 10).

pip-audit itself needs a vulnerability service (PyPI's JSON API or OSV) that a test
machine may not reach, so these tests give ``scripts/audit_dependencies.py`` reports
in pip-audit's own JSON format and check the three answers: a finding fails, a
complete clean answer passes, and nothing looked up passes while saying plainly that
no audit was done (never "no known vulnerabilities").
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit_dependencies.py"


@pytest.fixture(scope="module")
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_dependencies", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


REPORT_CLEAN = {
    "dependencies": [
        {"name": "jinja2", "version": "3.1.6", "vulns": []},
        {"name": "starlette", "version": "1.10.0", "vulns": []},
    ],
    "fixes": [],
}
REPORT_FINDING = {
    "dependencies": [
        {
            "name": "jinja2",
            "version": "3.1.2",
            "vulns": [
                {
                    "id": "GHSA-h5c8-rqwp-cp95",
                    "fix_versions": ["3.1.3"],
                    "aliases": ["CVE-2024-22195"],
                    "description": "xmlattr filter allows keys with spaces",
                }
            ],
        },
        {"name": "starlette", "version": "1.10.0", "vulns": []},
    ],
    "fixes": [],
}
# What this machine's PyPI answers: no per-release JSON, so every dependency is skipped.
REPORT_SKIPPED = {
    "dependencies": [
        {
            "name": "jinja2",
            "skip_reason": "Dependency not found on PyPI and could not be audited: jinja2 (3.1.6)",
        },
        {
            "name": "starlette",
            "skip_reason": "Dependency not found on PyPI and could not be audited: "
            "starlette (1.10.0)",
        },
    ],
    "fixes": [],
}


def test_a_known_vulnerability_fails_the_audit_and_names_the_fix(
    audit: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = audit.read_report("pypi", REPORT_FINDING)
    assert audit.verdict([answer], total=2) == 1
    out = capsys.readouterr().out
    assert "KNOWN VULNERABILITIES" in out
    assert "jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)" in out


def test_every_dependency_looked_up_and_clean_passes(
    audit: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = audit.read_report("pypi", REPORT_CLEAN)
    assert audit.verdict([answer], total=2) == 0
    assert "2 of 2 installed dependencies looked up (pypi); no known" in capsys.readouterr().out


def test_an_unreachable_service_passes_but_says_no_audit_was_done(
    audit: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    skipped = audit.read_report("pypi", REPORT_SKIPPED)
    unreachable = audit.Answer("osv", failure="ConnectionError: Failed to resolve 'api.osv.dev'")
    assert audit.verdict([skipped, unreachable], total=2) == 0
    out = capsys.readouterr().out
    assert "Dependency audit NOT DONE" in out and "no known vulnerabilities" not in out
    assert "pypi: Dependency not found on PyPI" in out and "osv: ConnectionError" in out


def test_a_partial_answer_names_what_was_not_looked_up(
    audit: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    partial = {"dependencies": [REPORT_CLEAN["dependencies"][0], REPORT_SKIPPED["dependencies"][1]]}
    assert audit.verdict([audit.read_report("pypi", partial)], total=2) == 0
    out = capsys.readouterr().out
    assert "1 of 2 installed dependencies looked up" in out
    assert "not looked up: starlette" in out
