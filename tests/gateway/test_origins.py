"""Staff surfaces accept only the gateway's own origin; the widget keeps the charity's list.

A real server whose HAVEN_ALLOWED_ORIGINS names the charity's site. Before this was
fixed, the counsellor socket accepted that site's origin: a script there (a
compromised analytics tag, say) could read and write a counsellor's chats with the
counsellor's own cookie. Origins are sent by a real websocket client and in real
HTTP requests, as a browser sends them.
"""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from gateway.services import Services
from gateway.settings import Settings
from tests.chat_client import ChatClient
from tests.conftest import LiveServer
from tests.counsellor_ui.support import (
    Browserless,
    frames_until,
    quiet_frames,
    signed_in_as,
    use_quick_setup,
)
from tests.factories import make_staff
from tests.services import free_port
from tests.sqlite_only import database_url  # noqa: F401 - SQLite only

pytestmark = pytest.mark.asyncio

# The charity's site: same host as the gateway (so a staff cookie would go along),
# another port, so another origin.
WIDGET_ORIGIN = f"http://localhost:{free_port()}"
FOREIGN_ORIGIN = "https://evil.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, allowed_origins=(WIDGET_ORIGIN,))


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def _refused(ws: object) -> int | None:
    """The close code the server sent, once the socket is closed (None if it stays open)."""
    try:
        await quiet_frames(ws, 2.0)  # type: ignore[arg-type]
        await ws.recv()  # type: ignore[attr-defined]
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else None
    return None


async def test_own_origins_are_the_public_url_and_never_the_widget_list() -> None:
    production = Settings(
        env="production",
        secret_key="x" * 40,
        public_url="https://chat.example.org/",
        allowed_origins=("https://www.example.org",),
    )
    assert production.own_origins == {"https://chat.example.org"}
    # As a browser writes Origin: lower case, no default port, no path.
    written = replace(production, public_url="https://Chat.Example.org:443/helpline/")
    assert written.own_origins == {"https://chat.example.org"}
    on_a_port = replace(production, public_url="http://gateway.test:8080")
    assert on_a_port.own_origins == {"http://gateway.test:8080"}
    assert production.effective_allowed_origins == {"https://www.example.org"}
    development = Settings(port=8123, allowed_origins=("http://localhost:9000",))
    assert development.own_origins == {
        "http://127.0.0.1:8123",
        "http://localhost:8123",
    }


async def test_the_counsellor_socket_takes_only_the_gateways_own_origin(
    live_server: LiveServer,
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))

    own = await sam.socket()
    assert (await frames_until(own, lambda f: f["type"] == "queue"))[-1]["type"] == "queue"
    await own.close()
    # The twin of the gateway's address in development is its own origin too.
    twin = await sam.socket(origin=f"http://localhost:{live_server.settings.port}")
    await frames_until(twin, lambda f: f["type"] == "queue")
    await twin.close()

    for origin in (WIDGET_ORIGIN, FOREIGN_ORIGIN, "null"):
        assert await _refused(await sam.socket(origin=origin)) == 1008, origin


async def test_the_widget_socket_still_takes_the_charitys_site(live_server: LiveServer) -> None:
    person = await ChatClient.open(live_server.ws, WIDGET_ORIGIN)
    welcome = await person.hello()
    assert welcome["token"]
    await person.close()

    stranger = await ChatClient.open(live_server.ws, FOREIGN_ORIGIN)
    assert await _refused(stranger.ws) == 1008


async def _post(sam: Browserless, path: str, origin: str | None, **fields: str) -> httpx.Response:
    headers = {"Origin": origin} if origin is not None else {}
    async with sam.http() as client:
        return await client.post(path, data={"csrf_token": sam.csrf, **fields}, headers=headers)


async def test_staff_forms_from_another_origin_are_refused_with_a_plain_page(
    live_server: LiveServer,
) -> None:
    svc: Services = live_server.app.state.runtime.svc
    sam = await signed_in_as(live_server, await make_staff(svc, name="Sam"))

    for origin in (WIDGET_ORIGIN, FOREIGN_ORIGIN, "null"):
        refused = await _post(sam, "/counsellor/sign-out", origin)
        assert refused.status_code == 403, origin
        assert "sent from another web site" in refused.text
        assert "Traceback" not in refused.text
        assert refused.headers["content-type"].startswith("text/html")
        # Nothing happened: Sam is still signed in.
        assert (await sam.get("/counsellor/")).status_code == 200
    # Even the sign-in form, which needs no session.
    sign_in = await _post(sam, "/counsellor/sign-in", WIDGET_ORIGIN, username="x", password="y")
    assert sign_in.status_code == 403

    # "null" (a page with a no-referrer policy, a sandboxed frame) is refused unless
    # the browser itself says the post came from the gateway's own origin.
    async with sam.http() as client:
        hidden = await client.post(
            "/counsellor/sign-out",
            data={"csrf_token": sam.csrf},
            headers={"Origin": "null", "Sec-Fetch-Site": "same-site"},
        )
        assert hidden.status_code == 403 and "sent from another web site" in hidden.text
        own_page = await client.post(
            "/counsellor/presence",
            data={"csrf_token": sam.csrf, "available": "yes"},
            headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        )
        assert own_page.status_code == 303
    # No Origin at all (an older browser, a same-origin GET-born form): the CSRF token
    # still decides.
    async with sam.http() as client:
        no_token = await client.post("/counsellor/sign-out", data={})
    assert no_token.status_code == 403 and "form has expired" in no_token.text
    # The gateway's own origin with the token: done.
    done = await _post(sam, "/counsellor/sign-out", live_server.origin)
    assert done.status_code == 303
    assert (await sam.get("/counsellor/")).status_code in (302, 303, 307)
