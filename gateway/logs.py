"""Logging that never records who a person is or what they wrote.

uvicorn logs every websocket handshake with the client's address and port
(``127.0.0.1:47746 - "WebSocket /ws/chat" [accepted]``) and every connection
open and close. Helplines must not keep those, so these records are dropped.
The HTTP access log is switched off where uvicorn is started.
"""

from __future__ import annotations

import logging
from typing import Any

_DROPPED = ('"WebSocket ', "connection open", "connection closed")


class DropClientAddresses(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
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
