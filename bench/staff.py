"""Counsellors over HTTP, as a browser does it: the sign-in form (with its CSRF
cookie), the dashboard's CSRF token, and the claim route."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import httpx

from bench.clients import STAFF_COOKIE, open_workspace

_LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Counsellor:
    username: str
    cookie: str  # the signed haven_staff cookie: for the websocket handshake
    csrf: str  # the session's CSRF token: for every form post
    http: httpx.AsyncClient

    async def claim(self, session_id: int) -> str:
        """``won``, ``taken`` (someone else was first) or ``refused`` (any other answer)."""
        response = await self.http.post(
            f"/counsellor/sessions/{session_id}/claim", data={"csrf_token": self.csrf}
        )
        location = response.headers.get("location", "")
        if response.status_code != 303:
            return "refused"
        if location == f"/counsellor/sessions/{session_id}":
            return "won"
        if location.startswith(f"/counsellor/sessions/{session_id}?"):
            return "taken"
        return "refused"


def _client(base_http: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_http,
        trust_env=False,
        follow_redirects=False,
        timeout=60,
        limits=httpx.Limits(max_connections=4),
    )


async def sign_in(base_http: str, username: str, password: str) -> Counsellor:
    http = _client(base_http)
    try:
        form = await http.get("/counsellor/sign-in")
        login_csrf = _LOGIN_CSRF.search(form.text)
        if login_csrf is None:
            raise RuntimeError(f"no login_csrf on the sign-in page ({form.status_code})")
        done = await http.post(
            "/counsellor/sign-in",
            data={"username": username, "password": password, "login_csrf": login_csrf[1]},
        )
        if done.status_code != 303:
            raise RuntimeError(f"sign-in of {username} answered {done.status_code}")
        dashboard = await http.get("/counsellor/")
        csrf = _CSRF.search(dashboard.text)
        cookie = http.cookies.get(STAFF_COOKIE)
        if csrf is None or cookie is None:
            raise RuntimeError(f"{username}: no session cookie or CSRF token after sign-in")
        return Counsellor(username, cookie, csrf[1], http)
    except BaseException:
        await http.aclose()
        raise


async def sign_in_all(
    base_http: str, usernames: list[str], password: str, concurrency: int = 4
) -> list[Counsellor]:
    gate = asyncio.Semaphore(concurrency)

    async def one(username: str) -> Counsellor:
        async with gate:
            return await sign_in(base_http, username, password)

    return list(await asyncio.gather(*(one(name) for name in usernames)))


async def close_all(counsellors: list[Counsellor]) -> None:
    await asyncio.gather(*(c.http.aclose() for c in counsellors))


async def queue_snapshot(base_ws: str, cookie: str, timeout_s: float) -> list[dict[str, Any]]:
    """The rows of the queue as a dashboard first receives them."""
    conn, first = await open_workspace(base_ws, cookie, timeout_s=timeout_s)
    await conn.close()
    rows: list[dict[str, Any]] = first["rows"]
    return rows
