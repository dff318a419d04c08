"""Migrate a bench database and create its counsellor accounts, through the ``haven`` CLI.

The bench runs this once per database backend and run, with the measured
checkout first on the path (``python -P bench/seed.py``, cwd and PYTHONPATH set
to it; ``HAVEN_DATABASE_URL`` names the database):

    python -P bench/seed.py COUNT PASSWORD

It is ``haven migrate`` and then ``haven create-user benchNNN --password-stdin``
COUNT times, in one process instead of COUNT.
"""

from __future__ import annotations

import contextlib
import functools
import io
import sys

from gateway import cli
from gateway.actions import staff


def username(number: int) -> str:
    return f"bench{number:03d}"


def main(argv: list[str]) -> int:
    count, password = int(argv[0]), argv[1]
    # Every bench account has the same password: hash it once, with the same hasher
    # (so that signing in never has to rehash it).
    staff.hash_password = functools.cache(staff.hash_password)
    if cli.main(["migrate"]) != 0:
        return 1
    for number in range(1, count + 1):
        sys.stdin = io.StringIO(password + "\n")
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(
                [
                    "create-user",
                    username(number),
                    "--name",
                    f"Bench {number}",
                    "--role",
                    "counsellor",
                    "--password-stdin",
                ]
            )
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
