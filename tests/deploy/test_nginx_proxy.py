"""The shipped deploy/nginx.conf in front of a real gateway: both websockets get through.

The test reads deploy/nginx.conf and rewrites only what cannot run here as it
stands (the ``user``, the pid and log files, Docker's resolver, the upstream
``gateway-N:8000 resolve`` servers, the listen port). Every ``location`` and
every proxy header stays exactly as shipped, so what passes here is the routing
that production runs. Each rewrite must match exactly as often as expected: if
the shipped file changes shape, this test fails rather than quietly proving
something else.

The browser's page comes from the proxy, so the gateway's public URL (and so
its allowed Origin) is the proxy's address, as in a real deployment.

The per-address limits are tested with the numbers as shipped (read from the
file): clients bound to 127.0.0.1, .2 and .3 reach nginx as different addresses.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from counsellor_ui.auth import SESSION_COOKIE, cookie_value
from gateway.actions.signin import start_staff_session
from gateway.services import Services
from gateway.settings import Settings
from tests.chat_client import ChatClient, is_ack, is_type
from tests.conftest import LiveServer
from tests.counsellor_ui.support import frames_until, use_quick_setup
from tests.factories import make_staff
from tests.services import free_port, missing, port_open

SHIPPED_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
# How long nginx may take to start listening or to stop; a readiness bound, not a
# measurement.
START_LIMIT_S = 15.0
# Loopback addresses the clients bind to: nginx sees each as its own client.
FLOODER = "127.0.0.1"
NEIGHBOUR = "127.0.0.2"
HOLDER = "127.0.0.3"
# nginx's own refusal page, which no gateway answer carries (its 429s are plain text).
NGINX_429 = b"<title>429 Too Many Requests</title>"

pytestmark = [
    pytest.mark.asyncio,
    # One database is enough: this is about the proxy, not about storage.
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def nginx_binary() -> str:
    found = shutil.which("nginx")
    if found is None and Path("/usr/sbin/nginx").is_file():
        found = "/usr/sbin/nginx"
    if found is None:
        missing("nginx (Debian package nginx)")
    assert found is not None
    return found


def _rewrite(text: str, pattern: str, replacement: str, count: int) -> str:
    new, made = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert made == count, f"deploy/nginx.conf: expected {count} match(es) of {pattern!r}"
    return new


def runnable_config(shipped: str, prefix: Path, listen_port: int, gateway_port: int) -> str:
    """deploy/nginx.conf made to run unprivileged on loopback in front of one gateway."""
    conf = shipped
    # No such account here (Debian's is www-data); the workers run as the caller's user.
    conf = _rewrite(conf, r"^user \S+;\n", "", 1)
    conf = _rewrite(conf, r"^pid \S+;$", f"pid {prefix}/nginx.pid;", 1)
    # A file instead of stderr, at warn, so that a failure here can be diagnosed.
    conf = _rewrite(conf, r"^error_log \S+ crit;$", f"error_log {prefix}/error.log warn;", 1)
    # The same `haven` format, into a file.
    conf = _rewrite(
        conf,
        r"^(\s*)access_log /dev/stdout haven;$",
        rf"\g<1>access_log {prefix}/access.log haven;",
        1,
    )
    # Docker's embedded DNS does not exist here; the upstream is an address instead.
    conf = _rewrite(conf, r"^\s*resolver .*;\n", "", 1)
    conf = _rewrite(
        conf,
        r"^(\s*)server gateway-\d+:8000 resolve ",
        rf"\g<1>server 127.0.0.1:{gateway_port} ",
        2,
    )
    conf = _rewrite(
        conf,
        r"^(\s*)listen 80 default_server;$",
        rf"\g<1>listen 127.0.0.1:{listen_port} default_server;",
        1,
    )
    # Debian's compiled-in temporary directories are under /var/lib/nginx.
    temp_paths = "".join(
        f"    {kind}_temp_path {prefix}/{kind}_temp;\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = _rewrite(conf, r"^http \{\n", "http {\n" + temp_paths, 1)
    return conf


def _log(prefix: Path) -> str:
    path = prefix / "error.log"
    return path.read_text(errors="replace") if path.exists() else "(no error log)"


@dataclass
class Proxy:
    port: int
    gateway: LiveServer
    # nginx's prefix: its configuration, its logs (error.log, access.log).
    prefix: Path

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def origin(self) -> str:
        """What a browser on a page served through the proxy sends as its Origin."""
        return self.http

    @property
    def svc(self) -> Services:
        services: Services = self.gateway.app.state.runtime.svc
        return services


@pytest.fixture
def nginx_prefix() -> Iterator[Path]:
    # Not under pytest's tmp_path: that one is private to the caller (0700), and when
    # the tests run as root nginx's workers run as `nobody`, who must reach the
    # temporary directories.
    prefix = Path(tempfile.mkdtemp(prefix="haven-nginx-"))
    prefix.chmod(0o755)
    try:
        yield prefix
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


@pytest_asyncio.fixture
async def proxy(settings: Settings, nginx_prefix: Path) -> AsyncIterator[Proxy]:
    """A real gateway (uvicorn, SQLite) behind nginx running the shipped configuration."""
    nginx = nginx_binary()
    proxy_port = free_port()
    gateway = LiveServer(
        replace(settings, port=free_port(), public_url=f"http://127.0.0.1:{proxy_port}")
    )
    await gateway.start()
    process: subprocess.Popen[bytes] | None = None
    try:
        conf = nginx_prefix / "nginx.conf"
        conf.write_text(
            runnable_config(
                SHIPPED_CONF.read_text(), nginx_prefix, proxy_port, gateway.settings.port
            )
        )
        command = [nginx, "-p", str(nginx_prefix), "-e", str(nginx_prefix / "error.log")]
        command += ["-c", str(conf)]

        checked = await asyncio.to_thread(
            subprocess.run, [*command, "-t"], capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, f"nginx -t refused the configuration:\n{checked.stderr}"

        with (nginx_prefix / "nginx.out").open("wb") as out:
            process = subprocess.Popen(
                [*command, "-g", "daemon off;"], stdout=out, stderr=subprocess.STDOUT
            )
        async with asyncio.timeout(START_LIMIT_S):
            while not port_open("127.0.0.1", proxy_port):
                assert process.poll() is None, f"nginx exited at start:\n{_log(nginx_prefix)}"
                await asyncio.sleep(0.05)
        yield Proxy(proxy_port, gateway, nginx_prefix)
    finally:
        if process is not None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, START_LIMIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
        await gateway.stop()


async def test_nginx_accepts_the_shipped_config_and_proxies_http(proxy: Proxy) -> None:
    # The fixture has run `nginx -t` and started nginx with it; HTTP goes through too.
    async with httpx.AsyncClient(base_url=proxy.http) as client:
        health = await client.get("/healthz")
        metrics = await client.get("/metrics")
    assert health.status_code == 200
    assert metrics.status_code == 404


async def test_the_widget_socket_through_the_proxy(proxy: Proxy) -> None:
    person = await ChatClient.open(proxy.ws, proxy.origin)
    try:
        welcome = await person.hello(token=None)
        assert welcome["state"] == "bot" and welcome["token"]
        greeting = await person.recv_until(is_type("message"))
        assert greeting[-1]["from"] == "bot" and greeting[-1]["text"]
    finally:
        await person.close()


async def test_the_counsellor_socket_through_the_proxy(
    proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_quick_setup(monkeypatch)
    sam = await make_staff(proxy.svc, name="Sam")
    session_id, _csrf = await start_staff_session(proxy.svc, staff_id=sam.id)
    cookie = cookie_value(proxy.gateway.settings.secret_key, session_id)
    async with connect(
        f"{proxy.ws}/counsellor/ws",
        origin=Origin(proxy.origin),
        additional_headers={"Cookie": f"{SESSION_COOKIE}={cookie}"},
    ) as ws:
        first = await frames_until(ws, lambda f: f["type"] == "queue")
    assert first[-1]["rows"] == [] and first[-1]["mine"] == []
    assert not [f for f in first if f["type"] == "error"], json.dumps(first)


def shipped_number(pattern: str) -> int:
    """The one number ``pattern`` (a regex with one group) finds in deploy/nginx.conf."""
    found = re.findall(pattern, SHIPPED_CONF.read_text(), flags=re.MULTILINE)
    assert len(found) == 1, f"deploy/nginx.conf: expected one match of {pattern!r}"
    return int(found[0])


def per_second(zone: str) -> float:
    """The rate of a ``limit_req_zone`` as shipped, per second."""
    rate = re.findall(rf"zone={zone}:\S+ rate=(\d+)r/(s|m);", SHIPPED_CONF.read_text())
    assert len(rate) == 1, f"deploy/nginx.conf: no single limit_req_zone {zone}"
    amount, unit = rate[0]
    return int(amount) / (60 if unit == "m" else 1)


def most_admitted(burst: int, rate_per_s: float, elapsed_s: float) -> int:
    """The most requests nginx's leaky bucket lets through in ``elapsed_s``.

    The first request, the burst, and what drained meanwhile (plus one for rounding).
    A bound on nginx's arithmetic whatever the machine's speed, not a timing claim.
    """
    return 1 + burst + int(rate_per_s * elapsed_s) + 1


async def handshake(proxy: Proxy, address: str) -> int:
    """101 if the widget's handshake from ``address`` got through (closed at once)."""
    try:
        async with connect(
            f"{proxy.ws}/ws/chat", origin=Origin(proxy.origin), local_addr=(address, 0)
        ):
            return 101
    except InvalidStatus as refused:
        response = refused.response
    # A 429 must be nginx's own page, not the gateway's plain-text hold-off (an
    # address past its connection cap, gateway/live/socket.py).
    assert response.status_code != 429 or NGINX_429 in (response.body or b""), response
    return response.status_code


async def test_a_handshake_flood_is_refused_at_the_proxy_while_others_chat(
    proxy: Proxy,
) -> None:
    burst = shipped_number(r"limit_req zone=haven_widget_handshakes burst=(\d+) nodelay;")
    rate = per_second("haven_widget_handshakes")
    flood = burst + 1 + 40
    loop = asyncio.get_running_loop()
    started = loop.time()
    answers = [await handshake(proxy, FLOODER) for _ in range(flood)]
    elapsed = loop.time() - started

    # A burst as large as a full school reconnecting at once is never refused ...
    assert answers[: burst + 1] == [101] * (burst + 1), answers
    # ... and what goes beyond it is refused by nginx (never reaching the gateway),
    # with 429, at least as often as its arithmetic says.
    assert set(answers) == {101, 429}, answers
    refused = answers.count(429)
    assert refused >= flood - most_admitted(burst, rate, elapsed), (answers, elapsed)

    # Someone else, at another address, starts a chat and is heard as usual.
    person = await ChatClient.open(proxy.ws, proxy.origin, local_addr=(NEIGHBOUR, 0))
    try:
        welcome = await person.hello(token=None)
        assert welcome["state"] == "bot" and welcome["token"]
        await person.recv_until(is_type("message"))
        said = await person.say("Hello, is anyone there?")
        await person.recv_until(is_ack(said))
    finally:
        await person.close()

    # The refusals are counted in the access log (no address), never written with the
    # client's address to the error log (nginx logs them at `info`).
    access = (proxy.prefix / "access.log").read_text()
    assert access.count('"GET /ws/chat" 429 ') == refused
    assert FLOODER not in access.replace(f"upstream={FLOODER}:", "")
    assert NEIGHBOUR not in access
    assert "limiting" not in _log(proxy.prefix), _log(proxy.prefix)


async def test_open_widget_sockets_per_address_are_capped_at_the_proxy(proxy: Proxy) -> None:
    cap = shipped_number(r"limit_conn haven_widget_sockets (\d+);")
    assert cap == Settings.max_connections_per_address  # the gateway's default
    held: list[ClientConnection] = []
    try:
        for _ in range(cap):
            held.append(
                await connect(
                    f"{proxy.ws}/ws/chat", origin=Origin(proxy.origin), local_addr=(HOLDER, 0)
                )
            )
        # One more from that address is refused by nginx, before the gateway's own cap ...
        assert await handshake(proxy, HOLDER) == 429
        # ... while another address is not counted with it.
        assert await handshake(proxy, NEIGHBOUR) == 101
    finally:
        for ws in held:
            await ws.close()


async def test_a_sign_in_flood_is_refused_at_the_proxy(proxy: Proxy) -> None:
    burst = shipped_number(r"limit_req zone=haven_signin burst=(\d+) nodelay;")
    rate = per_second("haven_signin")
    flood = burst + 1 + 20
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(
        base_url=proxy.http, transport=httpx.AsyncHTTPTransport(local_address=FLOODER)
    ) as client:
        started = loop.time()
        # No form token: each one that reaches the gateway is answered at once (400)
        # without hashing a password, so the flood is quick.
        answers = [await client.post("/counsellor/sign-in", data={}) for _ in range(flood)]
        elapsed = loop.time() - started
        page = await client.get("/counsellor/sign-in")
    statuses = [answer.status_code for answer in answers]

    # The gateway's whole 15-minute allowance at once reaches the gateway ...
    assert 429 not in statuses[: burst + 1], statuses
    # ... beyond it nginx answers 429 itself, at least as often as its arithmetic says.
    refused = [answer for answer in answers if answer.status_code == 429]
    assert all(NGINX_429 in answer.content for answer in refused)
    assert len(refused) >= flood - most_admitted(burst, rate, elapsed), (statuses, elapsed)
    # Only posts are counted: the sign-in page still opens, and another address posts.
    assert page.status_code == 200
    async with httpx.AsyncClient(
        base_url=proxy.http, transport=httpx.AsyncHTTPTransport(local_address=NEIGHBOUR)
    ) as client:
        other = await client.post("/counsellor/sign-in", data={})
    assert other.status_code != 429 and other.status_code < 500
