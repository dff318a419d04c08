"""Reading the TOML files of a script set: the only module that touches the disk.

A script set is one directory holding:

- ``en.toml``: the English script (required; every other locale falls back to it);
- ``<locale>.toml``: a translation, for example ``cy.toml`` (Welsh);
- ``resources-<locale>.toml``: helpline numbers, variables and the resource directory;
- ``triggers-<locale>.toml``: extra trigger phrases for this deployment, added to the
  packaged lists in ``bot_engine/scripts/triggers/`` (see ``detection.py``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bot_engine.problems import ProblemLog

PACKAGE_SCRIPTS = Path(__file__).resolve().parent / "scripts"
DEFAULT_SCRIPT_DIR = PACKAGE_SCRIPTS / "default"
PACKAGED_TRIGGERS_DIR = PACKAGE_SCRIPTS / "triggers"
BASE_LOCALE = "en"

_LOCALE = r"[a-z]{2,3}"
SCRIPT_FILE = re.compile(rf"^({_LOCALE})\.toml$")
_RESOURCES_FILE = re.compile(rf"^resources-({_LOCALE})\.toml$")
_TRIGGERS_FILE = re.compile(rf"^triggers-({_LOCALE})\.toml$")


@dataclass(slots=True)
class ScriptFiles:
    """The parsed contents of a script directory, keyed by locale."""

    scripts: dict[str, tuple[str, dict[str, object]]] = field(default_factory=dict)
    resources: dict[str, tuple[str, dict[str, object]]] = field(default_factory=dict)
    triggers: dict[str, tuple[str, dict[str, object]]] = field(default_factory=dict)


def read_toml(path: Path, log: ProblemLog, name: str | None = None) -> dict[str, object] | None:
    """Parse one file, reporting unreadable files and syntax errors as problems."""
    name = name or path.name
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        log.error(name, "-", "-", f"not valid TOML: {error}")
    except (OSError, UnicodeDecodeError) as error:
        log.error(name, "-", "-", f"cannot be read: {error}")
    return None


def read_script_dir(
    directory: Path, log: ProblemLog, *, resources_only: bool = False
) -> ScriptFiles:
    """Read every file of a script set; unknown files are reported, not ignored.

    With ``resources_only`` the directory is a deployment's overrides and may only
    hold ``resources-<locale>.toml`` files.
    """
    found = ScriptFiles()
    if not directory.is_dir():
        log.error(str(directory), "-", "-", "is not a directory of script files")
        return found
    kinds = [(_RESOURCES_FILE, found.resources)]
    if not resources_only:
        kinds += [(SCRIPT_FILE, found.scripts), (_TRIGGERS_FILE, found.triggers)]
    for path in sorted(directory.iterdir()):
        if path.is_dir() or path.name.startswith("."):
            continue
        for pattern, target in kinds:
            match = pattern.match(path.name)
            if match:
                data = read_toml(path, log)
                if data is not None:
                    target[match.group(1)] = (path.name, data)
                break
        else:
            expected = (
                "resources-<locale>.toml"
                if resources_only
                else ("en.toml, <locale>.toml, resources-<locale>.toml or triggers-<locale>.toml")
            )
            log.error(path.name, "-", "-", f"unknown file: expected {expected}")
    if not resources_only and BASE_LOCALE not in found.scripts and not log.errors:
        log.error(f"{BASE_LOCALE}.toml", "-", "-", "missing: the English script is required")
    return found
