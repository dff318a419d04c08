"""The application factory: the one composition root.

It builds the services, mounts the widget endpoints and the counsellor web
app, and starts the timer loop. It is the only gateway module that imports
``counsellor_ui``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from bot_engine import BotEngine, EngineConfig, TypingSpeed
from counsellor_ui import EXCEPTION_HANDLERS, OwnOriginOnly, counsellor_routes
from gateway.abuse import AbuseGuard
from gateway.appender import SQLiteAppender
from gateway.appender_postgres import PostgresAppender
from gateway.broker import create_broker
from gateway.db import Database
from gateway.delivery import BotDelivery
from gateway.headers import SecurityHeaders
from gateway.last_resort import LastResort
from gateway.live.hub import LiveHub
from gateway.live.widget import chat_endpoint
from gateway.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from gateway.metrics import Metrics, tokens_match
from gateway.ratelimit import ConnectionCounter
from gateway.runtime import Runtime
from gateway.scheduler import run_timers
from gateway.services import Services
from gateway.settings import Settings, load_settings

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# Where the staff workspace is mounted: its responses get the staff headers.
STAFF_PREFIX = "/counsellor"


def build_bot(settings: Settings) -> BotEngine:
    """The bot for these settings; a broken script raises ScriptError listing every problem."""
    return _load_bot(
        settings.bot_scripts_dir,
        settings.bot_resources_dir,
        TypingSpeed(
            chars_per_second=settings.bot_typing_cps,
            min_s=settings.bot_typing_min_s,
            max_s=settings.bot_typing_max_s,
        ),
        settings.checkin_after_s,
        settings.max_checkins,
        settings.service_name,
    )


@functools.lru_cache(maxsize=8)
def _load_bot(
    scripts: Path | None,
    resources: Path | None,
    typing: TypingSpeed,
    checkin_after_s: float,
    max_checkins: int,
    service_name: str,
) -> BotEngine:
    # An engine is immutable once loaded, so apps built with the same bot settings
    # (several in one test run) share one instead of parsing the scripts again.
    config = EngineConfig(
        typing=typing,
        checkin_after_s=checkin_after_s,
        max_checkins=max_checkins,
        service_name=service_name,
    )
    return BotEngine.load(scripts, config=config, resources=resources)


# widget.js holds this mark where the gateway writes the charity it serves for.
SERVICE_MARK = "/*HAVEN_SERVICE*/null"


@functools.lru_cache(maxsize=8)
def _widget_source(name: str, accent: str, logo_url: str, mtime_ns: int) -> str:
    # Keyed on the file's time too, so an edited widget.js is served without a restart.
    service = {"name": name, "accent": accent, "logo_url": logo_url or None}
    # ASCII-only JSON is a valid JavaScript literal whatever the name holds.
    source = (STATIC / "widget.js").read_text(encoding="utf-8")
    return source.replace(SERVICE_MARK, json.dumps(service), 1)


async def widget_js(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    source = _widget_source(
        settings.service_name,
        settings.accent_colour,
        settings.logo_href,
        (STATIC / "widget.js").stat().st_mtime_ns,
    )
    return Response(
        source,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


async def favicon(request: Request) -> Response:
    # One small SVG for the demo page and the staff pages; /favicon.ico is where a
    # browser looks by itself, and every current browser reads an SVG there.
    return FileResponse(
        STATIC / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


async def demo_page(request: Request) -> Response:
    return FileResponse(STATIC / "demo.html", media_type="text/html; charset=utf-8")


async def healthz(request: Request) -> Response:
    runtime: Runtime = request.state.runtime
    try:
        async with runtime.svc.read() as session:
            await session.connection()
    except Exception:
        log.exception("health check: database unreachable")
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    # "warm": every trigger phrase is compiled (a few seconds after start); until then
    # a message may wait for the phrases it needs. The service answers either way.
    warming: asyncio.Task[None] | None = getattr(request.app.state, "warming", None)
    return JSONResponse({"status": "ok", "warm": warming is None or warming.done()})


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text for a scraper holding ``HAVEN_METRICS_TOKEN`` as a bearer token.

    No token set: the endpoint does not exist (404). A missing or wrong token: 401.
    """
    settings: Settings = request.app.state.settings
    if not settings.metrics_token:
        return Response("Not Found", status_code=404, media_type="text/plain")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not tokens_match(given.strip(), settings.metrics_token):
        return Response(
            "Unauthorized",
            status_code=401,
            media_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    runtime: Runtime = request.state.runtime
    metrics: Metrics = request.app.state.metrics
    members = list(runtime.hub.members)
    workspaces = sum(1 for m in members if m.staff_id is not None)
    async with runtime.svc.read() as session:
        await metrics.refresh(session, widgets=len(members) - workspaces, workspaces=workspaces)
    return Response(
        metrics.exposition(),
        media_type=METRICS_CONTENT_TYPE,
        headers={"Cache-Control": "no-store"},
    )


async def root(request: Request) -> Response:
    return RedirectResponse("/demo", status_code=302)


async def _warm_up(bot: BotEngine) -> None:
    started = time.perf_counter()
    phrases = await asyncio.to_thread(bot.warm_up)
    log.info("compiled %d trigger phrases in %.1f s", phrases, time.perf_counter() - started)


def create_app(settings: Settings | None = None, *, timers: bool = True) -> Starlette:
    settings = settings or load_settings()
    settings.ensure_data_dir()
    bot = build_bot(settings)  # a broken script stops the start here, with every problem listed
    metrics = Metrics()  # this app's own registry (several apps may share a test run)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        db = Database(settings.effective_database_url)
        broker = create_broker(settings.broker_url, channel_prefix=settings.broker_channel_prefix)
        await broker.connect()
        url = settings.effective_database_url
        appender = SQLiteAppender.for_url(url, db.writer) or PostgresAppender.for_url(url)
        svc = Services(
            settings=settings, db=db, broker=broker, bot=bot, appender=appender, metrics=metrics
        )
        runtime = Runtime(
            svc=svc,
            delivery=BotDelivery(broker),
            addresses=ConnectionCounter(
                settings.max_connections_per_address,
                per_minute=settings.new_connections_per_address_per_minute,
            ),
            hub=LiveHub(svc),
            abuse=AbuseGuard(settings),  # counts in Redis when the broker is Redis
        )
        app.state.runtime = runtime  # for tests that drive the app directly
        # Trigger phrases compile on first use; compile them all now, off the event
        # loop, so that no person's message waits for it (a few seconds of one core).
        warming = app.state.warming = asyncio.create_task(_warm_up(bot))
        await runtime.hub.start()
        timer_task = asyncio.create_task(run_timers(runtime)) if timers else None
        try:
            yield {"runtime": runtime}
        finally:
            if not warming.done():
                warming.cancel()
            if timer_task is not None:
                timer_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await timer_task
            await runtime.hub.stop()
            await runtime.abuse.close()
            await svc.signin_limits.close()
            await runtime.delivery.close()
            if appender is not None:
                await appender.close()
            await broker.disconnect()
            await db.dispose()

    routes = [
        Route("/", root),
        Route("/healthz", healthz),
        Route("/metrics", metrics_endpoint),
        Route("/widget.js", widget_js),
        Route("/demo", demo_page),
        Route("/favicon.svg", favicon),
        Route("/favicon.ico", favicon),
        WebSocketRoute("/ws/chat", chat_endpoint),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Mount(
            STAFF_PREFIX,
            routes=counsellor_routes(),
            name="counsellor",
            middleware=[Middleware(OwnOriginOnly, origins=settings.own_origins)],
        ),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=dict(EXCEPTION_HANDLERS))
    # Outermost of the app's own: whatever still raises answers a plain page, logged
    # without its message (which may quote the input).
    app.add_middleware(LastResort)
    # Outermost: every answer, an error page too, gets the security headers.
    app.add_middleware(SecurityHeaders, settings=settings, staff_prefix=STAFF_PREFIX)
    app.state.settings = settings
    app.state.metrics = metrics
    return app
