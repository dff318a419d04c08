"""Logging that never records who a person is or what they wrote.

uvicorn logs every websocket handshake with the client's address and port
(``127.0.0.1:47746 - "WebSocket /ws/chat" [accepted]``) and every connection
open and close. Helplines must not keep those, so these records are dropped.
The HTTP access log is switched off where uvicorn is started, and dropped here
too if a configuration turns it on.

Libraries write what passes through them when their loggers are verbose: the
websockets library (through uvicorn's logger) every frame, a person's words
included, and every request header, staff cookies included; SQLAlchemy every
statement's parameters (at INFO). So below INFO only the gateway's own modules
are written, and SQLAlchemy's engine records never are, whatever the level
(tests/gateway/test_logs_hold_no_text.py runs a conversation at uvicorn's TRACE).
"""

from __future__ import annotations

import logging
from typing import Any

_DROPPED = ('"WebSocket ', "connection open", "connection closed")
# The modules that may log below INFO: they never log text anyone wrote.
_OWN = ("gateway", "counsellor_ui", "bot_engine")
# Loggers never written: client addresses and paths; SQL parameters.
_NEVER = ("uvicorn.access", "sqlalchemy.engine")


def _within(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


class DropClientAddresses(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _within(record.name, _NEVER):
            return False
        if record.levelno < logging.INFO and not _within(record.name, _OWN):
            return False
        message = str(record.msg)
        return not any(marker in message for marker in _DROPPED)


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging, with the address-bearing records filtered out."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"privacy": {"()": DropClientAddresses}},
        "formatters": {
            "default": {
                "()": "uvicorn.logging.DefaultFormatter",
                "fmt": "%(levelprefix)s %(name)s: %(message)s",
            },
        },
        "handlers": {
            "default": {
                "formatter": "default",
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "filters": ["privacy"],
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "gateway": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "counsellor_ui": {"handlers": ["default"], "level": "INFO", "propagate": False},
        },
    }
