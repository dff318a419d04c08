"""A flood of wrong sign-ins over a real server, with real Argon2, cannot starve the service.

Before: about ten wrong passwords a second ran Argon2 unbounded in parallel (every
worker thread, 64 MiB each), so a real counsellor's sign-in waited seconds and
people's acknowledgements slowed. Now at most ``password_hash_concurrency`` run at
once, ``password_hash_queue`` more wait, and the rest are answered "busy" at once.
This test floods from many addresses (so the per-address throttles do not stop it
first) while a counsellor signs in and a person keeps writing, and checks what must
hold: the bound on hashing (and on the memory it takes), the counsellor in, every
message acknowledged. It asserts no timings (bench/signin_flood.py measures them).
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

import gateway.actions.signin
import gateway.actions.staff
from gateway.services import Services
from gateway.settings import Settings
from tests.chat_client import ChatClient, is_ack, is_type
from tests.conftest import LiveServer, make_settings
from tests.counsellor_ui.test_account_pages import form_sign_in
from tests.factories import PASSWORD, make_staff

pytestmark = pytest.mark.asyncio

CONCURRENCY = 2
QUEUE = 4
FLOOD = 47  # (and one more: 203.0.113.0 to .47)
# Argon2id with the library's defaults takes 64 MiB a run.
ARGON2_MIB = PasswordHasher().memory_cost // 1024


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        password_hash_concurrency=CONCURRENCY,
        password_hash_queue=QUEUE,
        login_account_delay_max_s=0.05,
    )


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def test_a_flood_of_wrong_passwords_leaves_the_counsellor_and_the_person_served(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = PasswordHasher()  # the production parameters, not the tests' quick ones
    monkeypatch.setattr(gateway.actions.staff, "hasher", real)
    monkeypatch.setattr(gateway.actions.signin, "hasher", real)
    svc: Services = live_server.app.state.runtime.svc
    sam = await make_staff(svc, name="Sam")
    person = await ChatClient.open(live_server.ws, live_server.origin)
    await person.hello()
    await person.recv_until(is_type("message"))

    # The bot's warm-up (compiling its triggers) and the attackers' clients and forms
    # first, so that what is measured is the flood.
    await live_server.app.state.warming
    # (No kept-alive connections: the server may close an idle one before the flood.)
    fresh = httpx.Limits(max_keepalive_connections=0)
    attackers = [
        httpx.AsyncClient(base_url=live_server.http, timeout=120, limits=fresh)
        for _ in range(FLOOD + 1)
    ]
    tokens = {}
    for n, client in enumerate(attackers):
        form = await client.get("/counsellor/sign-in")
        token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
        assert token is not None
        tokens[n] = token[1]
    baseline = rss_mib()
    peak = {"rss": baseline, "running": 0, "waiting": 0}
    flooding = True

    async def sample() -> None:
        while flooding:
            peak["rss"] = max(peak["rss"], rss_mib())
            peak["running"] = max(peak["running"], svc.passwords.running)
            peak["waiting"] = max(peak["waiting"], svc.passwords.waiting)
            await asyncio.sleep(0.01)

    async def attacker(client: httpx.AsyncClient, n: int) -> int:
        data = {"username": sam.username, "password": f"guess {n}", "login_csrf": tokens[n]}
        headers = {"X-Forwarded-For": f"203.0.113.{n}"}
        answer = await client.post("/counsellor/sign-in", data=data, headers=headers)
        return answer.status_code

    async def counsellor() -> httpx.Response:
        # A real person presses "Sign in" again after "busy, try again in a moment".
        async with httpx.AsyncClient(base_url=live_server.http, timeout=120) as client:
            for _ in range(100):
                answer = await form_sign_in(client, sam.username, PASSWORD, "198.51.100.1")
                if answer.status_code != 503:
                    return answer
                await asyncio.sleep(0.1)
            return answer

    async def writer() -> list[str]:
        acknowledged = []
        for n in range(8):
            client_id = await person.say(f"still here {n}")
            await person.recv_until(is_ack(client_id), timeout=30)
            acknowledged.append(client_id)
        return acknowledged

    sampler = asyncio.create_task(sample())
    try:
        flood = [asyncio.create_task(attacker(c, n)) for n, c in enumerate(attackers)]
        signed, acknowledged = await asyncio.gather(counsellor(), writer())
        statuses = await asyncio.gather(*flood)
    finally:
        flooding = False
        await sampler
        for client in attackers:
            await client.aclose()
    await person.close()

    assert signed.status_code == 303 and signed.headers["location"] == "/counsellor/"
    assert len(acknowledged) == 8
    # Every wrong password was refused, plainly: wrong (401) or busy (503), never a 500.
    assert set(statuses) <= {401, 503} and statuses.count(503) >= 1
    stats = svc.passwords.stats
    assert stats.peak_running <= CONCURRENCY and peak["running"] <= CONCURRENCY
    assert stats.peak_waiting <= QUEUE and peak["waiting"] <= QUEUE
    assert stats.refused >= statuses.count(503)
    # Hashing's memory is bounded too: at most CONCURRENCY runs of 64 MiB at once
    # (unbounded, the default thread pool ran six here: 384 MiB), plus slack for the rest.
    assert peak["rss"] - baseline < (CONCURRENCY + 1) * ARGON2_MIB
