"""Prometheus metrics at /metrics (issue 11, item 7): refused without the token, valid
Prometheus text with every family, and figures that move when a real person in crisis
is queued and a counsellor claims them (a real server, a real websocket, real HTTP)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from gateway.models import ChatSession, Message
from gateway.settings import Settings
from tests.conftest import LiveServer, free_port, make_settings
from tests.counsellor_ui.support import signed_in_as, use_quick_setup
from tests.factories import make_staff
from tests.gateway.test_helplines import CRISIS
from tests.gateway.test_protocol_support import open_chat, services_of

pytestmark = pytest.mark.asyncio
TOKEN = "a-scraper-token-for-this-test-only"
FAMILIES = {
    "haven_queue_waiting",
    "haven_queue_wait_seconds",
    "haven_sessions",
    "haven_sessions_started",
    "haven_connections_open",
    "haven_messages_stored",
    "haven_bot_turns",
    "haven_escalations",
}


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, metrics_token=TOKEN)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(server: LiveServer) -> tuple[set[str], Samples]:
    """The families and samples of one scrape, parsed by prometheus-client's own parser."""
    async with httpx.AsyncClient(base_url=server.http) as client:
        response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    families = list(text_string_to_metric_families(response.text))
    samples: Samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples
    }
    return {f.name for f in families}, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def test_metrics_need_the_token(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.http) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].startswith("Bearer")
        basic = await client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        assert "haven_" not in wrong.text + basic.text


async def test_no_token_no_endpoint(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    server = LiveServer(make_settings(database_url, tmp_path, metrics_token="", port=port))
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.http) as client:
            for header in ({}, {"Authorization": "Bearer x"}, {"Authorization": f"Bearer {TOKEN}"}):
                assert (await client.get("/metrics", headers=header)).status_code == 404
    finally:
        await server.stop()


async def test_figures_move_when_a_person_in_crisis_is_claimed(live_server: LiveServer) -> None:
    svc = services_of(live_server)
    names, before = await scrape(live_server)
    assert names >= FAMILIES
    assert value(before, "haven_queue_waiting", priority="crisis") == 0
    assert value(before, "haven_queue_wait_seconds_count", priority="crisis") == 0
    assert sum(v for (n, _), v in before.items() if n == "haven_escalations_total") == 0

    person = await open_chat(live_server)
    await person.say(CRISIS)
    await person.recv_until(lambda f: f["type"] == "queue")
    _, queued = await scrape(live_server)
    async with svc.read() as session:
        chat = (await session.execute(select(ChatSession))).scalar_one()
        stored = (await session.execute(select(func.count(Message.id)))).scalar_one()
    assert chat.state == "queued" and chat.risk_level != "none"
    assert value(queued, "haven_queue_waiting", priority="crisis") == 1
    assert value(queued, "haven_sessions", state="queued") == 1
    assert value(queued, "haven_sessions_started_total") == 1
    # Finished sessions are not counted state by state (a scan per scrape).
    assert ("haven_sessions", (("state", "closed"),)) not in queued
    assert value(queued, "haven_connections_open", kind="widget") == 1
    assert value(queued, "haven_escalations_total", level=chat.risk_level) == 1
    assert value(queued, "haven_bot_turns_total") >= 2  # the greeting and the crisis reply
    assert value(queued, "haven_messages_stored_total") >= stored > 0

    sam = await make_staff(svc, name="Sam")
    counsellor = await signed_in_as(live_server, sam)
    claimed = await counsellor.post("/counsellor/take-next")
    assert claimed.status_code in (302, 303)
    _, after = await scrape(live_server)
    assert value(after, "haven_queue_waiting", priority="crisis") == 0
    assert value(after, "haven_sessions", state="live") == 1
    assert value(after, "haven_sessions", state="queued") == 0
    assert value(after, "haven_queue_wait_seconds_count", priority="crisis") == 1
    assert value(after, "haven_queue_wait_seconds_count", priority="other") == 0
    # One wait, of a few seconds at most: inside the last bucket, and counted in it.
    assert value(after, "haven_queue_wait_seconds_bucket", priority="crisis", le="+Inf") == 1
    assert value(after, "haven_queue_wait_seconds_bucket", priority="crisis", le="3600.0") == 1
    assert value(after, "haven_messages_stored_total") > value(
        queued, "haven_messages_stored_total"
    )  # "Sam has joined the chat."
    # Nothing a person wrote, no session number and no name appears in any label.
    labels = {v for (_, pairs) in after for _, v in pairs}
    assert not labels & {CRISIS, "Sam", str(chat.id)}
    await person.close()
