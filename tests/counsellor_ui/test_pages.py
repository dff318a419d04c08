"""The workspace's pages over HTTP: roles and CSRF on every route, the views, the forms."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from starlette.routing import Route

from bot_engine import SessionEvent, UserMessage
from counsellor_ui import counsellor_routes
from counsellor_ui.auth import SESSION_COOKIE
from counsellor_ui.web import brand_css, content_security_policy
from gateway.actions.bot import run_bot
from gateway.actions.canned import save_canned
from gateway.actions.messages import post_user_message
from gateway.models import ChatSession, WrapUp
from gateway.services import Services
from gateway.types import StaffRole
from tests.conftest import LiveServer
from tests.counsellor_ui.support import chat_row, signed_in_as, transcript
from tests.factories import PASSWORD, make_queued_session, make_session, make_staff

pytestmark = pytest.mark.asyncio

# Pages and posts only supervisors and admins may use; every other route is for all staff.
SUPERVISOR_ONLY = {"/supervisor", "/supervisor/live", "/canned", "/canned/delete", "/staff"}
# Staff accounts are for admins alone (counsellor_ui/staff_views.py).
SUPERVISOR_ONLY |= {"/staff/active", "/staff/role", "/staff/reset", "/staff/unlock"}
SUPERVISOR_ONLY |= {"/statistics", "/statistics.csv"}  # statistics_views.py
SUPERVISOR_ONLY |= {"/erase"}  # admins alone erase by reference (erase_views.py)
SUPERVISOR_ONLY |= {"/audit", "/audit.csv"}  # admins alone read the audit log (audit_views.py)
# Stepping into someone else's chat (counsellor_ui/supervision_views.py).
SUPERVISOR_ONLY |= {f"/sessions/{{session_id:int}}/{step}" for step in ("watch", "whisper")}
SUPERVISOR_ONLY |= {f"/sessions/{{session_id:int}}/{step}" for step in ("join", "take-over")}
# The sign-in page, and the colour it wears (brand.css holds nothing but the accent).
PUBLIC = {"/sign-in", "/brand.css"}


def services(server: LiveServer) -> Services:
    svc: Services = server.app.state.runtime.svc
    return svc


def routes() -> list[tuple[str, str]]:
    found = []
    for route in counsellor_routes():
        if isinstance(route, Route) and route.path not in PUBLIC:
            found += [
                (method, route.path) for method in sorted(route.methods or ()) if method != "HEAD"
            ]
    return found


async def test_every_route_checks_sign_in_role_and_csrf_and_get_changes_nothing(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    chat = await make_queued_session(svc)
    await sam.post(f"/counsellor/sessions/{chat.id}/claim")
    assert (await chat_row(svc, chat.id)).state == "live"
    snapshot = (await chat_row(svc, chat.id)).last_seq
    checked = set()
    async with httpx.AsyncClient(base_url=live_server.http, follow_redirects=False) as anon:
        for method, path in routes():
            url = "/counsellor" + path.replace("{session_id:int}", str(chat.id))
            checked.add(path)
            # Nobody signed in: to the sign-in page, whatever the route.
            response = await anon.request(method, url)
            assert response.status_code == 303, (method, path)
            assert response.headers["location"] == "/counsellor/sign-in"
            async with sam.http() as client:
                if method == "GET":
                    response = await client.get(url)
                    expected = 403 if path in SUPERVISOR_ONLY else 200
                    assert response.status_code == expected, (method, path)
                else:
                    # A post without this session's CSRF token is refused.
                    response = await client.post(url, data={"csrf_token": "forged"})
                    assert response.status_code == 403, (method, path)
    assert "/sessions/{session_id:int}/wrap-up" in checked and "/staff/active" in checked
    row = await chat_row(svc, chat.id)
    assert (row.state, row.last_seq) == ("live", snapshot)  # no GET changed anything


async def test_sign_in_sets_a_safe_cookie_replaces_old_ids_and_is_throttled(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    sam = await make_staff(svc, name="Sam")
    old = await signed_in_as(live_server, sam)
    async with httpx.AsyncClient(base_url=live_server.http, follow_redirects=False) as client:

        async def attempt(password: str, cookie: str | None = None) -> httpx.Response:
            form = await client.get("/counsellor/sign-in")
            token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
            assert token is not None
            if cookie:
                client.cookies.set(SESSION_COOKIE, cookie, path="/counsellor")
            return await client.post(
                "/counsellor/sign-in",
                data={"username": sam.username, "password": password, "login_csrf": token[1]},
            )

        refused = await attempt("wrong password")
        assert refused.status_code == 401 and "did not match" in refused.text
        signed = await attempt(PASSWORD, cookie=old.cookie)
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"]
        assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie
        assert "SameSite=lax" in cookie and "Path=/counsellor" in cookie
        assert "Secure" not in cookie  # plain HTTP here; set when served over TLS
        assert (await old.get("/counsellor/")).status_code == 303  # the old id is gone
        client.cookies.clear()
        # Signing in cleared the earlier failure; a full run of failures blocks even
        # the right password.
        for _ in range(svc.settings.login_max_failures):
            assert (await attempt("wrong again")).status_code == 401
        blocked = await attempt(PASSWORD)
        assert blocked.status_code == 429 and "Too many wrong passwords" in blocked.text


async def test_the_conversation_marks_the_bot_and_trigger_and_only_the_owner_reads_it(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    jo = await signed_in_as(live_server, await make_staff(svc, name="Jo"))
    lead = await make_staff(svc, name="Lead", role=StaffRole.SUPERVISOR)
    await save_canned(svc, staff=lead, title="Greeting", body="Hi, I'm here with you.")
    person = await make_session(svc)
    await run_bot(svc, session_id=person.id, event=SessionEvent(kind="started"))
    crisis = "I want to end my life"
    await post_user_message(svc, session_id=person.id, client_id="c", text=crisis)
    await run_bot(svc, session_id=person.id, event=UserMessage(text=crisis))
    await post_user_message(
        svc, session_id=person.id, client_id="x", text="<script>alert(1)</script> still here"
    )
    dashboard = await sam.get("/counsellor/")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dashboard.text
    # The level and the person's own words that led to it.
    assert re.search(r'class="badge p-crisis risk-(high|imminent)">crisis: ', dashboard.text)
    assert "suicide (" in dashboard.text and "\u201cend my life\u201d" in dashboard.text
    assert "<script>alert(1)" not in dashboard.text

    await sam.post(f"/counsellor/sessions/{person.id}/claim")
    lost = await jo.post(f"/counsellor/sessions/{person.id}/claim")
    assert "Sam+claimed+this+chat+first" in lost.headers["location"]
    view = await sam.get(f"/counsellor/sessions/{person.id}")
    assert view.status_code == 200
    assert "With the bot (automatic)" in view.text and "With a counsellor" in view.text
    assert re.search(r"<mark>[^<]*end my life[^<]*</mark>", view.text)
    assert 'option value="' in view.text and "Greeting" in view.text
    assert "&lt;script&gt;" in view.text and "<script>alert" not in view.text

    glance = await jo.get(lost.headers["location"])
    assert glance.status_code == 403
    assert (
        "Sam claimed this chat first." in glance.text and "with <strong>Sam</strong>" in glance.text
    )
    # Another counsellor's chat: nothing of its words, not even the queue's preview.
    assert "still here" not in glance.text and "Preview" not in glance.text
    assert "end my life" not in glance.text and "Bot (automatic)" not in glance.text

    await sam.post(f"/counsellor/sessions/{person.id}/notes", note="Lives with her sister.")
    assert "Lives with her sister." in (await sam.get(f"/counsellor/sessions/{person.id}")).text
    assert "sister" not in " ".join(m.text for m in await transcript(svc, person.id))


async def test_end_needs_the_wrap_up_and_release_and_hand_back_tell_the_person(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    ending, releasing, returning = [await make_queued_session(svc) for _ in range(3)]
    for chat in (ending, releasing):
        await sam.post(f"/counsellor/sessions/{chat.id}/claim")
    form = await sam.get(f"/counsellor/sessions/{ending.id}/wrap-up")
    assert "Risk level you assessed" in form.text and svc.settings.wrapup_outcomes[0] in form.text
    incomplete = await sam.post(f"/counsellor/sessions/{ending.id}/end", notes="Talked.")
    assert incomplete.status_code == 400 and "Choose at least one outcome." in incomplete.text
    assert "Talked." in incomplete.text  # what was typed is kept
    assert (await chat_row(svc, ending.id)).state == "live"
    done = await sam.post(
        f"/counsellor/sessions/{ending.id}/end",
        outcome=svc.settings.wrapup_outcomes[1],
        risk_level="low",
        notes="Talked.",
    )
    assert done.status_code == 303 and "Wrap-up+saved" in done.headers["location"]
    assert (await chat_row(svc, ending.id)).state == "closed"
    async with svc.read() as session:
        saved = (await session.execute(select(WrapUp))).scalar_one()
    assert (saved.session_id, saved.risk_level, saved.notes) == (ending.id, "low", "Talked.")

    await sam.post(f"/counsellor/sessions/{releasing.id}/release")
    row = await chat_row(svc, releasing.id)
    assert (row.state, row.queue_front) == ("queued", True)
    await sam.post(f"/counsellor/sessions/{releasing.id}/claim")
    await sam.post(f"/counsellor/sessions/{releasing.id}/hand-back")
    assert (await chat_row(svc, releasing.id)).state == "bot"
    said = [m.text for m in await transcript(svc, releasing.id)]
    assert any("front of the queue" in t for t in said)
    assert any("passed you back" in t for t in said)
    assert (await chat_row(svc, returning.id)).state == "queued"


async def test_supervisors_see_the_service_and_keep_replies_but_not_accounts(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    lead = await signed_in_as(
        live_server, await make_staff(svc, name="Lead", role=StaffRole.SUPERVISOR)
    )
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))
    chat = await make_queued_session(svc)
    await make_queued_session(svc)
    await sam.post(f"/counsellor/sessions/{chat.id}/claim")

    page = await lead.get("/counsellor/supervisor")
    assert page.status_code == 200
    assert "Median wait" in page.text and "90th percentile wait" in page.text
    live = await lead.get("/counsellor/supervisor/live")
    assert re.search(r'id="queue-length">1<', live.text)
    assert re.search(rf"<th scope=\"row\">{chat.id}</th><td>Sam</td>", live.text)

    saved = await lead.post("/counsellor/canned", title="Breathing", body="Shall we breathe?")
    assert "Saved" in saved.headers["location"]
    assert "Shall we breathe?" in (await lead.get("/counsellor/canned")).text

    # Accounts are an admin's (tests/counsellor_ui/test_account_pages.py has the rest).
    refused = await lead.post(
        "/counsellor/staff", username="boss", display_name="Boss", role="admin"
    )
    assert refused.status_code == 403 and "for admins" in refused.text
    assert (await lead.get("/counsellor/staff")).status_code == 403
    async with svc.read() as session:
        states = list((await session.execute(select(ChatSession.state))).scalars())
    assert sorted(states) == ["live", "queued"]


async def test_a_forged_or_unsigned_session_cookie_is_refused(live_server: LiveServer) -> None:
    sam = await make_staff(live_server.app.state.runtime.svc, name="Sam")
    real = await signed_in_as(live_server, sam)
    for forged in (real.session_id, real.cookie + "x", "anything"):
        async with httpx.AsyncClient(
            base_url=live_server.http, cookies={SESSION_COOKIE: forged}, follow_redirects=False
        ) as client:
            response = await client.get("/counsellor/")
            assert response.status_code == 303
            assert response.headers["location"].endswith("/counsellor/sign-in")
    async with real.http() as client:
        assert (await client.get("/counsellor/")).status_code == 200


async def test_the_accent_stylesheet_is_the_checked_colour_and_a_darker_shade() -> None:
    css = brand_css("#7a1f5c")
    assert css == ":root { --accent: #7a1f5c; --accent-dark: #581642; }\n"
    assert content_security_policy("").count("img-src 'self' data:;") == 1
    policy = content_security_policy("https://cdn.example.org/logo.svg")
    assert "img-src 'self' data: https://cdn.example.org;" in policy
    assert "img-src 'self' data:;" in content_security_policy("/static/logo.svg")
