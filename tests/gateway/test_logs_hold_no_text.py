"""A whole conversation through a real gateway process logging all it can, then its
logs and its audit lines searched for every word anyone wrote.

The gateway runs as ``haven serve`` runs it (uvicorn, the gateway's own logging
configuration and privacy filter), but with every logger at uvicorn's TRACE level
(below DEBUG), the HTTP access log switched on, and the root logger catching every
library's records too. The conversation writes a unique marker in each place text
can go: the person's messages to the bot, a crisis message, a counsellor's messages
and the person's answers, a private note, a supervisor's whisper, the wrap-up's notes,
a rating's comment, and a second conversation the person erases. None may appear in
the process's output or in any audit line; each step must have written its line.
PostgreSQL (the deployment's database), one process.
"""

from __future__ import annotations

import html
import json
import re
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from gateway.logs import uvicorn_log_config
from tests.chat_client import ChatClient, is_type
from tests.conftest import fresh_pg_database
from tests.multiprocess import (
    GatewayProcess,
    Inspector,
    ask_for_a_person,
    create_staff_accounts,
    gateway_environment,
    greeted_person,
    sign_in,
)

# A minute or two alone (account creation, production-strength password hashing at
# every sign-in, a process start): more on cores shared by parallel workers.
pytestmark = [pytest.mark.asyncio, pytest.mark.postgres, pytest.mark.timeout(600)]
STAFF = [("sam", "Sam", "counsellor"), ("alex", "Alex", "supervisor")]
TRACE = 5  # uvicorn's level below DEBUG: every record anything writes


def verbose_log_config() -> dict[str, Any]:
    """The gateway's logging configuration with every level at TRACE, the access log
    on, and the root logger on, so that libraries' records are written too."""
    config = uvicorn_log_config()
    for logger in config["loggers"].values():
        logger["level"] = TRACE
    config["loggers"]["uvicorn.access"]["handlers"] = ["default"]
    config["root"] = {"handlers": ["default"], "level": TRACE}
    for part in (*config["filters"].values(), *config["formatters"].values()):
        factory = part["()"]
        if not isinstance(factory, str):  # a class: by name, for the JSON file
            part["()"] = f"{factory.__module__}.{factory.__qualname__}"
    return config


class VerboseGateway(GatewayProcess):
    """A gateway process started with the most verbose logging it can have."""

    def command(self) -> list[str]:
        config = self.log_path.with_suffix(".logging.json")
        config.write_text(json.dumps(verbose_log_config()))
        command = [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--log-config", str(config), "--log-level", "trace", "--access-log"]
        command += ["--ws-per-message-deflate", "false"]
        return command


@pytest.fixture
def marker() -> Any:
    """``marker(place)``: a word no log could contain by chance; all made are kept."""
    made: dict[str, str] = {}

    def make(place: str) -> str:
        made[place] = f"zq{uuid.uuid4().hex[:12]}"
        return made[place]

    make.made = made  # type: ignore[attr-defined]
    return make


@pytest_asyncio.fixture
async def database(pg_template: str, tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_pg_database(pg_template) as url:
        create_staff_accounts(url, tmp_path, STAFF)
        yield url


@pytest_asyncio.fixture
async def gateway(database: str, tmp_path: Path) -> AsyncIterator[VerboseGateway]:
    env = gateway_environment(database, tmp_path, "memory://", f"logs-{uuid.uuid4().hex}:")
    process = VerboseGateway("verbose", env, tmp_path)
    try:
        await process.start()
        yield process
    finally:
        process.stop()


async def said(person: ChatClient, text: str) -> None:
    """The person writes; once it is acknowledged, it is stored."""
    client_id = await person.say(text)
    await person.recv_until(lambda f: f["type"] == "ack" and f["client_id"] == client_id)


async def test_a_whole_conversation_leaves_no_text_in_the_logs_or_the_audit_log(
    gateway: VerboseGateway, database: str, marker: Any
) -> None:
    db = Inspector(database)
    person = await greeted_person(gateway)
    await said(person, f"hello there, I had a rough week {marker('to the bot')}")
    await ask_for_a_person(person)
    await said(person, f"I want to end my life {marker('crisis')}")
    assert person.token is not None
    chat_id = int((await db.session_of(person.token))["id"])
    path = f"/counsellor/sessions/{chat_id}"

    sam = await sign_in(gateway, "sam")
    claimed = await sam.post(gateway, f"{path}/claim")
    assert claimed.status_code == 303, claimed.text
    assert (await sam.get(gateway, path)).status_code == 200
    sams_chat = await sam.socket(gateway, chat_id)
    await sams_chat.send({"type": "say", "client_id": "s1", "text": marker("counsellor")})
    await sams_chat.recv_until(lambda f: f["type"] == "ack" and f["client_id"] == "s1")
    await said(person, f"thank you for being here {marker('to the counsellor')}")
    noted = await sam.post(gateway, f"{path}/notes", note=f"private {marker('note')}")
    assert noted.status_code == 303, noted.text

    alex = await sign_in(gateway, "alex")
    assert (await alex.get(gateway, f"{path}/watch")).status_code == 200
    whispered = await alex.post(gateway, f"{path}/whisper", message=marker("whisper"))
    assert whispered.status_code == 303, whispered.text

    form = await sam.get(gateway, f"{path}/wrap-up")
    outcome = html.unescape(re.findall(r'name="outcome" value="([^"]+)"', form.text)[0])
    ended = await sam.post(
        gateway,
        f"{path}/end",
        outcome=outcome,
        risk_level="high",
        notes=f"wrap-up {marker('wrap-up notes')}",
    )
    assert ended.status_code == 303, ended.text
    await person.recv_until(lambda f: f == {"type": "state", "state": "closed", "counsellor": None})
    await person.send({"type": "rating", "score": 4, "comment": marker("rating comment")})
    await person.recv_until(is_type("rated"))

    other = await greeted_person(gateway)
    await said(other, f"please forget this {marker('erased chat')}")
    assert other.token is not None
    erased_id = int((await db.session_of(other.token))["id"])
    await other.send({"type": "erase"})
    await other.recv_until(is_type("erased"))
    for ws in (person, other, sams_chat):
        await ws.close()
    gateway.stop()  # everything it buffered is written

    sam_id, alex_id = await db.staff_id("sam"), await db.staff_id("alex")
    lines = await db.fetch(
        "SELECT staff_id, action, session_id, detail FROM audit_events ORDER BY id"
    )
    about = [(r["staff_id"], r["action"], r["session_id"]) for r in lines if r["session_id"]]
    for expected in (
        (sam_id, "claim", chat_id),
        (sam_id, "view_transcript", chat_id),
        (alex_id, "watch", chat_id),
        (alex_id, "whisper", chat_id),
        (sam_id, "end", chat_id),
    ):
        assert expected in about, (expected, about)
    assert any(a == "erase" and s == erased_id for _, a, s in about), about

    log = gateway.log_text()
    assert "Application startup complete" in log, log
    for cookie in (sam.cookie, alex.cookie):  # request headers are never written either
        assert cookie not in log
    for place, word in marker.made.items():
        assert word not in log, f"the {place} text is in the log"
        for line in lines:
            assert word not in (line["detail"] or ""), f"the {place} text is in {line}"
