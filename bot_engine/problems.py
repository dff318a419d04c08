"""Mistakes found in script and trigger files, reported one clear line each.

Every problem reads ``file:node:key: message`` so that a charity staff member can find
the place to fix: the file name, the node id (or the section, such as ``(script)`` or
``crisis[2]``), and the key inside it. Warnings say ``warning:`` after the key; they do
not stop the bot from starting (a missing translation falls back to English).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in one place."""

    file: str
    where: str
    key: str
    message: str
    warning: bool = False

    def __str__(self) -> str:
        label = "warning: " if self.warning else ""
        return f"{self.file}:{self.where or '-'}:{self.key or '-'}: {label}{self.message}"


class ScriptError(Exception):
    """The script set has errors; ``problems`` has one line per error."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: list[str] = list(problems)
        count = len(self.problems)
        summary = f"{count} problem{'s' if count != 1 else ''} in the bot script"
        super().__init__(summary + ":\n" + "\n".join(self.problems))


class ProblemLog:
    """Collects problems while a file is read; the reader never stops at the first."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def error(self, file: str, where: str, key: str, message: str) -> None:
        self.items.append(Problem(file, where, key, message))

    def warn(self, file: str, where: str, key: str, message: str) -> None:
        self.items.append(Problem(file, where, key, message, warning=True))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.items.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if not p.warning]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.warning]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ScriptError(str(p) for p in self.errors)


class Fields:
    """Typed access to one TOML table, reporting wrong types and unknown keys.

    ``allowed`` lists the keys the table may have; anything else is reported as an
    unknown key, which catches typing mistakes such as ``repiles`` early.
    """

    def __init__(
        self,
        log: ProblemLog,
        file: str,
        where: str,
        data: object,
        allowed: Iterable[str],
        prefix: str = "",
    ) -> None:
        self.log, self.file, self.where, self.prefix = log, file, where, prefix
        if not isinstance(data, dict):
            log.error(file, where, prefix.rstrip(".") or "-", "must be a table of keys and values")
            data = {}
        self.data: dict[str, object] = data
        for key in data:
            if key not in allowed:
                log.error(file, where, f"{prefix}{key}", "unknown key")

    def _bad(self, key: str, message: str) -> None:
        self.log.error(self.file, self.where, f"{self.prefix}{key}", message)

    def has(self, key: str) -> bool:
        return key in self.data

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                self._bad(key, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self._bad(key, "must be non-empty text")
            return None
        return value.strip()

    def texts(self, key: str, *, required: bool = False) -> list[str]:
        value = self.data.get(key)
        if value is None:
            if required:
                self._bad(key, "is required")
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self._bad(key, "must be a list of non-empty texts")
            return []
        if required and not value:
            self._bad(key, "must not be empty")
        return [v for v in value if isinstance(v, str)]

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            self._bad(key, "must be true or false")
            return False
        return value

    def number(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self._bad(key, f"must be a whole number of at least {minimum}")
            return default
        return value

    def tables(self, key: str) -> list[object]:
        value = self.data.get(key, [])
        if not isinstance(value, list):
            self._bad(key, "must be a list of tables")
            return []
        return value

    def mapping(self, key: str) -> dict[str, object]:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            self._bad(key, "must be a table")
            return {}
        return value

    def choice(self, key: str, options: tuple[str, ...]) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if value not in options:
            self._bad(key, f"must be one of: {', '.join(options)}")
            return None
        return str(value)
