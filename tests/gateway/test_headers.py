"""Security headers on every response, HSTS and the ``__Host-`` cookie over TLS.

Before ``gateway/headers.py`` only staff pages carried a policy: ``/demo``,
``/widget.js``, ``/healthz``, 404s, static files and errors carried none, and any
site could frame the demo page. Each case here asks a real server over HTTP.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
import pytest_asyncio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.settings import Settings
from tests.conftest import LiveServer
from tests.counsellor_ui.support import use_quick_setup
from tests.factories import PASSWORD, make_staff
from tests.services import free_port
from tests.sqlite_only import database_url  # noqa: F401 - SQLite only

pytestmark = pytest.mark.asyncio

CHARITY = "https://www.charity.example"
PUBLIC_PATHS = (
    "/demo",
    "/widget.js",
    "/healthz",
    "/metrics",
    "/no-such-page",
    "/static/demo.css",
    "/favicon.svg",
)
STAFF_PATHS = ("/counsellor/sign-in", "/counsellor/static/live.js", "/counsellor/")


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


@pytest_asyncio.fixture
async def serve(settings: Settings) -> AsyncIterator[list[LiveServer]]:
    """Start servers with other settings; each is stopped at the end."""
    servers: list[LiveServer] = []
    yield servers
    for server in servers:
        await server.stop()


async def start(servers: list[LiveServer], settings: Settings, **changes: object) -> LiveServer:
    port = free_port()
    changes.setdefault("public_url", f"http://127.0.0.1:{port}")
    server = LiveServer(replace(settings, port=port, **changes))  # type: ignore[arg-type]
    # A route that fails, to see what an unexpected error answers.
    server.app.router.routes.append(Route("/fails", _fails))
    await server.start()
    servers.append(server)
    return server


async def _fails(request: Request) -> Response:
    raise RuntimeError("a bug")


def directives(policy: str) -> dict[str, str]:
    parts = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


async def test_public_responses_carry_the_headers_and_only_the_gateway_frames_them(
    settings: Settings, serve: list[LiveServer]
) -> None:
    server = await start(serve, settings)
    async with httpx.AsyncClient(base_url=server.http) as client:
        for path in PUBLIC_PATHS:
            response = await client.get(path)
            headers = response.headers
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "no-referrer", path
            policy = directives(headers["content-security-policy"])
            assert policy["frame-ancestors"] == "'self'", path
            assert policy["script-src"] == "'self'" and policy["object-src"] == "'none'"
            assert headers["x-frame-options"] == "SAMEORIGIN", path
            assert "strict-transport-security" not in headers  # plain http
        # widget.js stays a script any page may load (no policy keeps it home).
        widget = await client.get("/widget.js")
        assert widget.status_code == 200 and "cross-origin-resource-policy" not in widget.headers


async def test_only_the_charitys_sites_may_frame_the_widgets_pages(
    settings: Settings, serve: list[LiveServer]
) -> None:
    server = await start(serve, settings, allowed_origins=(CHARITY, "https://charity.example"))
    async with httpx.AsyncClient(base_url=server.http) as client:
        demo = await client.get("/demo")
        assert directives(demo.headers["content-security-policy"])["frame-ancestors"] == (
            "https://charity.example https://www.charity.example"
        )
        # X-Frame-Options cannot name two sites: frame-ancestors alone decides.
        assert "x-frame-options" not in demo.headers
        # Staff pages may be framed by nobody, whatever the widget's list says.
        for path in STAFF_PATHS:
            staff = await client.get(path)
            assert directives(staff.headers["content-security-policy"])["frame-ancestors"] == (
                "'none'"
            ), path
            assert staff.headers["x-frame-options"] == "DENY", path
            assert staff.headers["x-content-type-options"] == "nosniff", path
            # No referrer to other sites; the workspace's own posts keep their Origin.
            assert staff.headers["referrer-policy"] == "same-origin", path
        # The sign-in page keeps its own, full policy (scripts from the gateway only).
        sign_in = directives(
            (await client.get("/counsellor/sign-in")).headers["content-security-policy"]
        )
        assert sign_in["script-src"] == "'self'" and sign_in["form-action"] == "'self'"


async def test_over_tls_every_response_has_hsts_and_the_staff_cookie_is_host_only(
    settings: Settings, serve: list[LiveServer]
) -> None:
    # TLS ends at the proxy in front; the gateway knows it from HAVEN_PUBLIC_URL.
    server = await start(serve, settings, public_url="https://chat.charity.example")
    svc = server.app.state.runtime.svc
    sam = await make_staff(svc, name="Sam")
    async with httpx.AsyncClient(base_url=server.http, follow_redirects=False) as client:
        for path in (*PUBLIC_PATHS, *STAFF_PATHS):
            hsts = (await client.get(path)).headers["strict-transport-security"]
            assert hsts == f"max-age={settings.hsts_max_age_s}", path

        form = await client.get("/counsellor/sign-in")
        token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
        assert token is not None
        signed = await client.post(
            "/counsellor/sign-in",
            data={"username": sam.username, "password": PASSWORD, "login_csrf": token[1]},
        )
        assert signed.status_code == 303
        (cookie,) = [c for c in signed.headers.get_list("set-cookie") if "haven_staff" in c]
        name, _, rest = cookie.partition("=")
        assert name == "__Host-haven_staff"
        attributes = {a.strip().split("=")[0].lower() for a in rest.split(";")[1:]}
        assert {"secure", "httponly", "path"} <= attributes and "domain" not in attributes
        assert "Path=/;" in cookie or cookie.endswith("Path=/")
        value = rest.split(";")[0]

        # The browser sends it back under its new name: the workspace opens.
        staff_cookie = {"Cookie": f"__Host-haven_staff={value}"}
        dashboard = await client.get("/counsellor/", headers=staff_cookie)
        assert dashboard.status_code == 200
        # The old name is not read any more.
        old = await client.get("/counsellor/", headers={"Cookie": f"haven_staff={value}"})
        assert old.status_code == 303
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', dashboard.text)
        assert csrf is not None
        out = await client.post(
            "/counsellor/sign-out", data={"csrf_token": csrf[1]}, headers=staff_cookie
        )
        assert out.status_code == 303
        gone = [c for c in out.headers.get_list("set-cookie") if "haven_staff" in c]
        assert gone and gone[0].startswith("__Host-haven_staff=") and "Max-Age=0" in gone[0]
        assert "Secure" in gone[0] and "Path=/" in gone[0]


async def test_an_unexpected_errors_page_has_them_too(
    settings: Settings, serve: list[LiveServer]
) -> None:
    server = await start(serve, settings, public_url="https://chat.charity.example")
    async with httpx.AsyncClient(base_url=server.http) as client:
        failed = await client.get("/fails")
    assert failed.status_code == 500 and "Traceback" not in failed.text
    assert failed.headers["referrer-policy"] == "no-referrer"
    assert failed.headers["x-content-type-options"] == "nosniff"
    assert failed.headers["strict-transport-security"].startswith("max-age=")
    # The error page's own policy is stricter than the public one, and is kept.
    assert "frame-ancestors" in failed.headers["content-security-policy"]
