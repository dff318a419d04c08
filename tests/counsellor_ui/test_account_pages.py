"""Signing in and the accounts page over a real server: the planted cookie, throttles that
say when to try again, "busy" at the hashing bound, the forced password change, and the
admin's account controls ending a live socket at once."""

from __future__ import annotations

import asyncio
import re
import threading

import httpx
import pytest
from sqlalchemy import select

from counsellor_ui.auth import SESSION_COOKIE
from gateway.actions import audit as actions
from gateway.actions.signin import staff_for_session
from gateway.models import AuditEvent, Staff
from gateway.password_work import PasswordWork
from gateway.services import Services
from gateway.types import StaffRole
from tests.conftest import LiveServer
from tests.counsellor_ui.support import chat_row, signed_in_as
from tests.counsellor_ui.test_ws import claimed_by, closed_with, person_waiting
from tests.factories import PASSWORD, make_staff

pytestmark = pytest.mark.asyncio


def services(server: LiveServer) -> Services:
    svc: Services = server.app.state.runtime.svc
    return svc


async def form_sign_in(
    client: httpx.AsyncClient, username: str, password: str, address: str = "192.0.2.1"
) -> httpx.Response:
    """The sign-in form as a browser sends it, from ``address`` (X-Forwarded-For from
    loopback, which uvicorn trusts, as it trusts the proxy in front of it)."""
    headers = {"X-Forwarded-For": address}
    form = await client.get("/counsellor/sign-in", headers=headers)
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
    assert token is not None
    data = {"username": username, "password": password, "login_csrf": token[1]}
    return await client.post("/counsellor/sign-in", data=data, headers=headers)


def client_for(server: LiveServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.http, follow_redirects=False)


async def test_the_sign_in_page_never_follows_a_planted_cookie(live_server: LiveServer) -> None:
    """Before: a planted staff cookie sent the sign-in page straight into its account."""
    svc = services(live_server)
    sam = await make_staff(svc, name="Sam")
    planted = await signed_in_as(live_server, await make_staff(svc, name="Mallory"))
    async with client_for(live_server) as client:
        client.cookies.set(SESSION_COOKIE, planted.cookie, path="/counsellor")
        page = await client.get("/counsellor/sign-in")
        assert page.status_code == 200
        assert "already signed in as <strong>Mallory</strong>" in page.text
        assert "Continue as Mallory" in page.text and "Sign out Mallory" in page.text
        assert '<button type="submit">Sign in</button>' in page.text
        signed = await form_sign_in(client, sam.username, PASSWORD)
        assert signed.status_code == 303 and signed.headers["location"] == "/counsellor/"
        fresh = signed.cookies[SESSION_COOKIE]
        # ... and this browser is known to Sam's account from now on.
        known = signed.cookies["haven_known_browser"]
        assert svc.signin_limits.recognises(known, sam.username)
        assert "httponly" in signed.headers.get_list("set-cookie")[-1].lower()
    assert fresh != planted.cookie
    # The planted session is gone: whatever cookie came along was not kept.
    assert await staff_for_session(svc, session_id=planted.session_id) is None
    async with svc.read() as session:
        lines = (
            await session.execute(
                select(AuditEvent.staff_id).where(AuditEvent.action == actions.SIGN_IN)
            )
        ).all()
    assert (sam.id,) in lines


async def test_a_throttled_address_is_told_when_to_try_again_and_others_get_in(
    live_server: LiveServer,
) -> None:
    """Before: five wrong passwords from anyone locked the counsellor out everywhere."""
    svc = services(live_server)
    sam = await make_staff(svc, name="Sam")
    async with client_for(live_server) as attacker, client_for(live_server) as counsellor:
        for _ in range(svc.settings.login_max_failures):
            wrong = await form_sign_in(attacker, sam.username, "wrong guess", "203.0.113.20")
            assert wrong.status_code == 401 and "did not match" in wrong.text
        refused = await form_sign_in(attacker, sam.username.upper(), PASSWORD, "203.0.113.20")
        assert refused.status_code == 429
        assert "Try again in about 15 minutes" in refused.text
        assert "ask an admin to unlock your account" in refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= svc.settings.login_window_s
        mine = await form_sign_in(counsellor, sam.username, PASSWORD, "198.51.100.30")
        assert mine.status_code == 303 and mine.headers["location"] == "/counsellor/"
    assert svc.metrics is not None  # the operator sees it (deploy/OPERATIONS.md)
    figures = svc.metrics.exposition().decode()
    assert 'haven_signin_refused_total{reason="address_account"} 1.0' in figures
    assert 'haven_signin_refused_total{reason="address"} 0.0' in figures


async def test_at_the_hashing_bound_the_sign_in_page_says_busy_at_once(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    sam = await make_staff(svc, name="Sam")
    svc.passwords = PasswordWork(concurrency=1, queue=0)
    release = threading.Event()
    holding = asyncio.create_task(svc.passwords.run(release.wait, 30))
    while svc.passwords.running == 0:
        await asyncio.sleep(0.01)
    try:
        async with client_for(live_server) as client:
            busy = await form_sign_in(client, sam.username, PASSWORD)
            assert busy.status_code == 503 and "busy right now" in busy.text
            assert busy.headers["Retry-After"] == "5"
            release.set()
            await holding
            signed = await form_sign_in(client, sam.username, PASSWORD)
            assert signed.status_code == 303
    finally:
        release.set()
    assert svc.passwords.stats.refused == 1 and svc.passwords.stats.peak_running == 1
    assert svc.metrics is not None
    assert 'haven_signin_refused_total{reason="busy"} 1.0' in svc.metrics.exposition().decode()


async def test_a_reset_password_is_replaced_before_any_other_page(live_server: LiveServer) -> None:
    svc = services(live_server)
    admin = await signed_in_as(live_server, await make_staff(svc, name="Ada", role=StaffRole.ADMIN))
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    person, chat_id = await person_waiting(live_server)
    await claimed_by(sam, chat_id)
    dashboard = await sam.socket()

    reset = await admin.post("/counsellor/staff/reset", id=str(sam.staff.id))
    assert reset.status_code == 200 and "Temporary password for Sam" in reset.text
    shown = re.search(r'class="temporary-password"><code>([^<]+)</code>', reset.text)
    assert shown is not None
    temporary = shown[1]
    assert await closed_with(dashboard, 1008)  # signed out everywhere at once
    assert (await chat_row(svc, chat_id)).state == "queued"

    async with client_for(live_server) as client:
        signed = await form_sign_in(client, sam.staff.username, temporary)
        assert signed.headers["location"] == "/counsellor/password"
        for path in ("/counsellor/", f"/counsellor/sessions/{chat_id}", "/counsellor/canned"):
            moved = await client.get(path)
            assert (moved.status_code, moved.headers["location"]) == (303, "/counsellor/password")
        claim = await client.post(f"/counsellor/sessions/{chat_id}/claim")
        assert claim.headers["location"] == "/counsellor/password"
        page = await client.get("/counsellor/password")
        assert page.status_code == 200 and "An admin reset the password" in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        form = {"csrf_token": csrf[1], "current": temporary}
        mismatch = await client.post(
            "/counsellor/password", data=form | {"new": "my own password", "again": "other"}
        )
        assert mismatch.status_code == 400 and "not the same" in mismatch.text
        same = await client.post(
            "/counsellor/password", data=form | {"new": temporary, "again": temporary}
        )
        assert same.status_code == 400 and "not the one you have now" in same.text
        changed = await client.post(
            "/counsellor/password",
            data=form | {"new": "my own password", "again": "my own password"},
        )
        assert changed.status_code == 303 and changed.headers["location"].startswith(
            "/counsellor/?notice="
        )
        assert (await client.get("/counsellor/")).status_code == 200
    async with svc.read() as session:
        stored = await session.get(Staff, sam.staff.id)
    assert stored is not None and not stored.must_change_password
    await person.ws.close()


async def test_only_admins_keep_accounts_and_deactivating_closes_a_live_socket(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    admin = await signed_in_as(live_server, await make_staff(svc, name="Ada", role=StaffRole.ADMIN))
    lead = await signed_in_as(
        live_server, await make_staff(svc, name="Lead", role=StaffRole.SUPERVISOR)
    )
    jo = await signed_in_as(live_server, await make_staff(svc, name="Jo"))
    for someone in (lead, jo):
        page = await someone.get("/counsellor/staff")
        assert page.status_code == 403 and "for admins" in page.text
        for path in ("/staff/active", "/staff/role", "/staff/reset", "/staff/unlock"):
            refused = await someone.post(f"/counsellor{path}", id=str(admin.staff.id))
            assert refused.status_code == 403, path

    created = await admin.post(
        "/counsellor/staff", username="robin", display_name="Robin", role="counsellor"
    )
    assert created.status_code == 200 and "Temporary password for Robin" in created.text
    promoted = await admin.post("/counsellor/staff/role", id=str(jo.staff.id), role="supervisor")
    assert "Jo+is+now+supervisor" in promoted.headers["location"]
    last = await admin.post("/counsellor/staff/role", id=str(admin.staff.id), role="counsellor")
    assert "last+active+admin" in last.headers["location"]

    person, chat_id = await person_waiting(live_server)
    await claimed_by(jo, chat_id)
    chat_socket = await jo.socket(chat_id)
    off = await admin.post("/counsellor/staff/active", id=str(jo.staff.id), active="no")
    assert "deactivated" in off.headers["location"]
    assert await closed_with(chat_socket, 1008)
    assert (await chat_row(svc, chat_id)).state == "queued"
    assert (await jo.get("/counsellor/")).headers["location"] == "/counsellor/sign-in"
    on = await admin.post("/counsellor/staff/active", id=str(jo.staff.id), active="yes")
    assert "can+sign+in+again" in on.headers["location"]
    unlocked = await admin.post("/counsellor/staff/unlock", id=str(jo.staff.id))
    assert "counters+are+cleared" in unlocked.headers["location"]
    accounts = await admin.get("/counsellor/staff")
    assert "Reset password of Jo" in accounts.text and "Deactivate Robin" in accounts.text
    assert "Deactivate Ada" not in accounts.text  # not your own account
    async with svc.read() as session:
        done = (
            await session.execute(
                select(AuditEvent.action)
                .where(AuditEvent.staff_id == admin.staff.id)
                .order_by(AuditEvent.id)
            )
        ).scalars()
        assert [a for a in done if a.startswith("account_")] == [
            actions.ACCOUNT_CREATE,
            actions.ACCOUNT_ROLE,
            actions.ACCOUNT_DEACTIVATE,
            actions.ACCOUNT_REACTIVATE,
            actions.ACCOUNT_UNLOCK,
        ]
    await person.ws.close()
