"""Proof of work for new sessions (HAVEN_CHALLENGE), at protocol level over a real server:
asked only when the mode says so, answered with ``hello.proof``, each salt once; a
client that does not know the frame still works when it is off and is told plainly
when it is required."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.abuse.challenge import leading_zero_bits, solve, solves
from tests.chat_client import ChatClient, Frame
from tests.conftest import LiveServer
from tests.gateway.abuse_support import ATTACKER, PERSON, hello_from, serve_limited
from tests.gateway.test_protocol_support import close_code

pytestmark = pytest.mark.asyncio
EASY = 8  # bits: quick to solve in a test, the same code path as the default 16
ALWAYS = {"challenge": "always", "challenge_difficulty": EASY}


async def challenged(server: LiveServer) -> tuple[ChatClient, Frame]:
    """A new client's hello, answered with a challenge."""
    client, challenge = await hello_from(server, PERSON)
    assert challenge["type"] == "challenge", challenge
    return client, challenge


async def test_leading_zero_bits() -> None:
    assert leading_zero_bits(b"\x00\x00\xff") == 16
    assert leading_zero_bits(b"\x00\x1f") == 11
    assert leading_zero_bits(b"\x80") == 0
    nonce = solve("salt", EASY)
    assert solves("salt", nonce, EASY)


async def test_a_client_that_knows_nothing_of_it_works_while_it_is_off(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with serve_limited(sqlite_template, tmp_path, challenge="off") as server:
        client, first = await hello_from(server, PERSON)
        assert first["type"] == "welcome"
        await client.close()


async def test_always_asks_and_a_good_proof_opens_the_session_once(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with serve_limited(sqlite_template, tmp_path, **ALWAYS) as server:
        client, challenge = await challenged(server)
        assert (challenge["algorithm"], challenge["difficulty"]) == ("sha256", EASY)
        proof = {"salt": challenge["salt"], "nonce": solve(challenge["salt"], EASY)}
        await client.send({"type": "hello", "v": 1, "token": None, "proof": proof})
        welcome = await client.recv(15)
        assert welcome["type"] == "welcome" and welcome["token"]
        await client.close()
        # The same answer again (a stock of solved salts replayed): asked again.
        again, first = await hello_from(server, PERSON, proof=proof)
        assert first["type"] == "challenge" and first["salt"] != proof["salt"]
        await again.close()
        # A proof for a salt the server never issued: asked again.
        forged = {"salt": "1700000000.abcdef.0123456789abcdef01234567", "nonce": "1"}
        forger, first = await hello_from(server, PERSON, proof=forged)
        assert first["type"] == "challenge"
        await forger.close()


async def test_a_client_that_cannot_answer_is_told_plainly(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with serve_limited(sqlite_template, tmp_path, **ALWAYS) as server:
        client, challenge = await challenged(server)
        # A client that does not know the frame carries on as if welcomed.
        await client.send({"type": "say", "client_id": "c1", "text": "hello?"})
        error = await client.recv(15)
        assert error["type"] == "error" and error["code"] == "rate_limited"
        assert "try again in a minute" in error["message"]
        assert "challenge" in error["detail"] and error["retry_after_s"] == 60
        assert await close_code(client) == 4400
        # A wrong answer is refused the same way.
        wrong, challenge = await challenged(server)
        bad = {"salt": challenge["salt"], "nonce": "0"}
        if solves(bad["salt"], bad["nonce"], EASY):
            bad["nonce"] = "1"
        await wrong.send({"type": "hello", "v": 1, "token": None, "proof": bad})
        assert (await wrong.recv(15))["code"] == "rate_limited"
        assert await close_code(wrong) == 4400


async def test_load_asks_only_above_the_service_wide_rate(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with serve_limited(
        sqlite_template,
        tmp_path,
        challenge="load",
        challenge_load="3/minute",
        challenge_difficulty=EASY,
    ) as server:
        kinds = []
        for address in (PERSON, ATTACKER, PERSON, ATTACKER):
            client, first = await hello_from(server, address)
            kinds.append(first["type"])
            await client.close()
        assert kinds == ["welcome", "welcome", "welcome", "challenge"]
