"""Closing connections that never finish their request: the gateway's own timeouts.

uvicorn closes an idle keep-alive connection (``timeout_keep_alive``) and drops a
websocket peer that stops answering pings, but it waits forever for a request's
line and headers: a client that connects and sends nothing, or trickles half a
request line (slowloris), holds a socket and a file descriptor for as long as it
likes. The gateway should not rely on a proxy in front for that.

``HeaderDeadline`` adds one timer to uvicorn's HTTP protocol: armed when the
connection opens, and when the first byte of a later request on a kept-alive
connection arrives; cancelled as soon as the request's headers are complete (a
request cycle starts, or the connection is handed to the websocket protocol).
If it fires first, the connection is closed. It is never reset by more bytes, so
trickling does not buy time. A websocket upgrade is an HTTP request until its
headers are complete, so a half-sent upgrade is closed the same way.

``server_config`` is how ``haven serve`` builds uvicorn's configuration, and what
the tests start a server with.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Fast
except ImportError:  # pragma: no cover - httptools is in uvicorn[standard]
    _Fast = H11Protocol  # type: ignore[assignment, misc]

from gateway.logs import uvicorn_log_config
from gateway.settings import Settings


class _HeaderDeadlineMixin:
    """The header timer, for either of uvicorn's HTTP protocols (see the module)."""

    # Set by the subclass ``for_settings`` builds.
    header_timeout_s: float = 10.0

    transport: Any  # asyncio.Transport, set by uvicorn's protocol
    cycle: Any
    loop: asyncio.AbstractEventLoop
    _deadline: asyncio.TimerHandle | None = None
    _seen_cycle: Any = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._seen_cycle = None
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self._between_requests():
            self._arm()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)  # type: ignore[misc]
        handed_over = self.transport.get_protocol() is not self
        if handed_over or self.cycle is not self._seen_cycle:
            self._seen_cycle = self.cycle
            self._disarm()  # the headers are complete: the request is under way

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _between_requests(self) -> bool:
        return self.cycle is None or bool(self.cycle.response_complete)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing() and self.transport.get_protocol() is self:
            self.transport.close()


class HeaderDeadlineHttpTools(_HeaderDeadlineMixin, _Fast):
    """uvicorn's httptools protocol (its default) with the header deadline."""


class HeaderDeadlineH11(_HeaderDeadlineMixin, H11Protocol):
    """uvicorn's pure-Python protocol with the header deadline."""


def protocol_for(settings: Settings, base: type[Any] = HeaderDeadlineHttpTools) -> type[Any]:
    """``base`` with this deployment's header timeout (uvicorn builds one per connection)."""
    return type(base.__name__, (base,), {"header_timeout_s": settings.header_timeout_s})


def server_config(app: Any, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """uvicorn's configuration for the gateway: the protocol's limits and the timeouts."""
    options: dict[str, Any] = dict(
        host=settings.host,
        port=settings.port,
        http=protocol_for(settings),
        # Frames over 4x the protocol limit are refused by the server (close 1009);
        # between 1x and 4x the gateway answers with a friendly error frame.
        ws_max_size=settings.max_frame_bytes * 4,
        ws_per_message_deflate=False,
        ws_ping_interval=settings.heartbeat_s,
        ws_ping_timeout=settings.heartbeat_s,
        timeout_keep_alive=settings.keep_alive_timeout_s,
        # Access logs would record client addresses and query strings: never.
        access_log=False,
        log_config=uvicorn_log_config(),
        proxy_headers=True,
    )
    options.update(overrides)
    return uvicorn.Config(app, **options)
