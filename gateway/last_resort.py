"""The last line of defence: whatever a request still raises answers a plain page.

Every input is parsed with bounds first (``gateway/inputs.py``), so nothing here
should ever run; if something does (a database refusing an edge value nobody
thought of, say), the person gets a plain 400 or 500 page and the log gets one
line saying where, without the exception's text: a database error quotes its
SQL parameters, which may be what somebody typed. Starlette's own handler for
``Exception`` re-raises after answering, and the server then logs the whole
traceback with its message; this middleware, inside it, answers and stops.
"""

from __future__ import annotations

import logging
import traceback
from typing import Final

from sqlalchemy.exc import DataError
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

# Failures that can only come from a value sent (a number or text the database
# refuses): the request was bad, not the service.
BAD_INPUT: Final = (DataError, OverflowError, UnicodeError)

_PAGE: Final = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    "<title>{title}</title></head><body><h1>{title}</h1><p>{words}</p></body></html>"
)
_BAD_REQUEST: Final = _PAGE.format(
    title="That could not be read",
    words="Something in what was sent could not be used. Go back and try again.",
)
_SERVER_ERROR: Final = _PAGE.format(
    title="Something went wrong",
    words="This did not work, and it was not your fault. Go back and try again in a moment.",
)
_HEADERS: Final = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]


def where_it_failed(exc: BaseException) -> str:
    """The frames of a traceback (files, lines, code), without the exception's message."""
    return "".join(traceback.format_tb(exc.__traceback__))


def route_of(scope: Scope) -> str:
    """The route's pattern (``/counsellor/sessions/{session_id:int}``), never the path sent."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "(no route)"


class LastResort:
    """Answers any exception a request raises with a plain page, and logs it safely."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept", "websocket.close"):
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except ClientDisconnect:
            return  # the client left before its request was read: nobody to answer
        except Exception as exc:
            bad_input = isinstance(exc, BAD_INPUT)
            log.error(
                "%s %s failed with %s (answered %s)\n%s",
                scope["type"],
                route_of(scope),
                type(exc).__name__,
                "400" if bad_input else "500",
                where_it_failed(exc),
            )
            if started:
                return  # the server ends a response or socket the app left unfinished
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1011, "reason": ""})
                return
            body = (_BAD_REQUEST if bad_input else _SERVER_ERROR).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 400 if bad_input else 500,
                    "headers": [*_HEADERS, (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
