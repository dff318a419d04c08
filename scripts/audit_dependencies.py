"""Audit the installed dependencies for known vulnerabilities (``make audit``).

    .venv-audit/bin/python scripts/audit_dependencies.py .venv/bin/python

What is audited: every distribution installed in the project's virtual environment
(the one ``make install`` builds, runtime and development tools alike), pinned at
the versions installed, as ``pip freeze --exclude-editable`` lists them. That is the
lock: nothing is committed, the list is taken at audit time from what the tests and
the service really run. pip-audit itself lives in its own environment
(``.venv-audit``), so that its own dependencies are neither audited nor installed
beside the gateway.

pip-audit asks a vulnerability service about each pinned version: PyPI's JSON API
first, then OSV. The answer is one of three, and this script says which in plain
words:

* **found**: a known vulnerability in an installed version: listed, exit 1 (CI fails);
* **clean**: every dependency was looked up and none has a known vulnerability: exit 0;
* **not audited**: no service could be reached or none knew the versions (each
  dependency "skipped"): said plainly, with pip-audit's reason, exit 0: CI must not
  fail because a network it does not control is missing, and must not claim a clean
  audit either. A partial answer (some looked up, some skipped) names the skipped ones.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVICES = ("pypi", "osv")
FOUND, CLEAN, NOT_AUDITED = 1, 0, 0


@dataclass
class Answer:
    service: str
    audited: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    failure: str = ""  # pip-audit gave no report at all (e.g. the service is unreachable)


def frozen(python: str) -> str:
    result = subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [python, "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def ask(service: str, requirements: Path) -> Answer:
    """One pip-audit run against one vulnerability service."""
    with tempfile.TemporaryDirectory(prefix="haven-audit-") as tmp:
        report = Path(tmp) / "report.json"
        result = subprocess.run(  # noqa: S603 (pip-audit beside us, fixed arguments)
            [
                str(Path(sys.executable).with_name("pip-audit")),
                "--requirement",
                str(requirements),
                "--no-deps",  # the list is already complete and pinned
                "--disable-pip",
                "--vulnerability-service",
                service,
                "--format",
                "json",
                "--output",
                str(report),
                "--progress-spinner",
                "off",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if not report.exists():
            lines = (result.stderr or result.stdout).strip().splitlines()
            failure = lines[-1] if lines else f"pip-audit exited {result.returncode}"
            return Answer(service, failure=failure)
        return read_report(service, json.loads(report.read_text()))


def read_report(service: str, data: dict[str, Any]) -> Answer:
    """pip-audit's JSON report: what was looked up, what was skipped and why, what found."""
    answer = Answer(service)
    for dependency in data.get("dependencies", []):
        name = f"{dependency['name']} {dependency.get('version', '')}".strip()
        if "skip_reason" in dependency:
            answer.skipped[name] = dependency["skip_reason"]
            continue
        answer.audited.append(name)
        for vuln in dependency.get("vulns", []):
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            answer.findings.append(f"{name}: {vuln['id']} (fixed in {fixed})")
    return answer


def verdict(answers: list[Answer], total: int) -> int:
    best = max(answers, key=lambda a: len(a.audited))
    for answer in answers:
        if answer.findings:
            print(f"Dependency audit: KNOWN VULNERABILITIES ({answer.service}):")
            for line in answer.findings:
                print(f"  {line}")
            print("Upgrade these (pyproject.toml) or say in an issue why one cannot be.")
            return FOUND
    if not best.audited:
        print(f"Dependency audit NOT DONE: none of the {total} installed dependencies could be")
        print("looked up, so this says nothing about known vulnerabilities. Reasons:")
        for answer in answers:
            reason = answer.failure or next(iter(answer.skipped.values()), "no answer")
            print(f"  {answer.service}: {reason}")
        print("(Not a failure: no vulnerability service could answer from this machine.)")
        return NOT_AUDITED
    print(
        f"Dependency audit: {len(best.audited)} of {total} installed dependencies looked up "
        f"({best.service}); no known vulnerabilities."
    )
    for name, reason in best.skipped.items():
        print(f"  not looked up: {name}: {reason}")
    return CLEAN


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: audit_dependencies.py PATH/TO/VENV/bin/python", file=sys.stderr)
        return 2
    pins = frozen(argv[0])
    total = sum(1 for line in pins.splitlines() if line and not line.startswith("#"))
    with tempfile.TemporaryDirectory(prefix="haven-audit-") as tmp:
        requirements = Path(tmp) / "installed.txt"
        requirements.write_text(pins)
        answers = []
        for service in SERVICES:
            answer = ask(service, requirements)
            answers.append(answer)
            if answer.findings or (answer.audited and not answer.skipped):
                break  # a complete answer: no need to ask the next service
    return verdict(answers, total)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
