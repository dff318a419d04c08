"""The widget socket's side of the abuse limits (gateway/abuse/): what each costs,
what a refused client is told, and the proof-of-work exchange before a new session.

Every refusal is an ``error`` frame with the existing ``rate_limited`` code, plain
words for the person and ``retry_after_s``; nothing refused is stored, so no
acknowledged message is ever lost.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Final, NoReturn

import msgspec

from gateway import protocol as p
from gateway.abuse import Challenges, Limit, Refused
from gateway.actions.sessions import SessionView
from gateway.live.socket import LiveSocket
from gateway.ratelimit import Admit, ConnectionCounter

# A phone solves the default challenge in a second or two; a minute covers an old one
# in a background tab, and a client that does not know the frame is told then.
CHALLENGE_WAIT_S: Final = 60.0
# How long a refused hello waits before its answer (``refuse_later``).
REFUSAL_PAUSE_S: Final = 1.0

_WORDS: Final = {
    Limit.SESSIONS_PER_ADDRESS: (
        "A lot of new chats have started from your connection just now, so this one "
        "could not start. Please try again in {wait}."
    ),
    Limit.ESCALATIONS_PER_ADDRESS: (
        "A lot of requests for a person have come from your connection just now, so "
        "this one could not be passed on. Please try again in {wait}."
    ),
    Limit.RESUMES_PER_ADDRESS: (
        "The chat has reconnected many times in a short while, so it will wait "
        "{wait} before it reconnects again. Nothing you sent has been lost."
    ),
}
_WORDS[Limit.RESUMES_PER_SESSION] = _WORDS[Limit.RESUMES_PER_ADDRESS]
_WORDS[Limit.CATCHUP_LINES_PER_ADDRESS] = _WORDS[Limit.RESUMES_PER_ADDRESS]
_WORDS[Limit.CATCHUP_LINES_PER_SESSION] = _WORDS[Limit.RESUMES_PER_ADDRESS]

CHALLENGE_UNANSWERED: Final = (
    "New chats need a moment of work from your device while the service is this busy, "
    "and this app could not do it. Please try again in a minute."
)
CHALLENGE_DETAIL: Final = (
    "A new session needs a proof of work now: answer the challenge frame with a hello "
    "carrying proof {salt, nonce} (docs/protocol.md, 'challenge')."
)


def in_words(seconds: int) -> str:
    if seconds < 60:
        return "a moment" if seconds <= 5 else f"{seconds} seconds"
    minutes = -(-seconds // 60)
    return "a minute" if minutes == 1 else f"{minutes} minutes"


def refusal(
    refused: Refused, *, client_id: str | None = None, helplines: Sequence[str] = ()
) -> p.ErrorOut:
    """The ``rate_limited`` error for a refusal, in plain words, with ``retry_after_s``;
    with ``helplines`` (a refused new chat or request for a person), the first two, so
    that a refusal is never a dead end for someone who needs help now."""
    words = _WORDS.get(refused.limit)
    message = (
        words.format(wait=in_words(refused.retry_after_s))
        if words
        else p.ERROR_MESSAGES["rate_limited"]
    )
    if helplines:
        message = f"{message} If you need someone now: {'; '.join(helplines[:2])}."
    return p.ErrorOut(
        code="rate_limited",
        message=message,
        client_id=client_id,
        detail=f"over the limit {refused.limit.value}",
        retry_after_s=refused.retry_after_s,
    )


async def refuse_later(
    socket: LiveSocket[p.ClientFrame, p.ServerFrame], error: p.ErrorOut
) -> NoReturn:
    """Refuse a hello: a short pause, the error, and close with 1013 (try again later).

    The pause costs a person nothing and holds one of the address's few connections
    (HAVEN_MAX_CONNECTIONS_PER_ADDRESS), so a client that reconnects at once to be
    refused again is slowed to a few refusals a second instead of thousands."""
    await asyncio.sleep(REFUSAL_PAUSE_S)
    await socket.final(error, p.Close.TRY_AGAIN, "try again later")


async def turn_away(
    socket: LiveSocket[p.ClientFrame, p.ServerFrame],
    addresses: ConnectionCounter,
    address: str,
    admit: Admit,
) -> None:
    """A connection its address may not open: over the cap, refused as PROTOCOL.md
    says (accepted, closed 1008); held off after that, refused before any websocket
    opens with HTTP 429 and Retry-After, after a pause while places to wait are free
    (a flooder that waits for its answer is slowed to a few attempts a second)."""
    if admit is Admit.OVER_CAP:
        await socket.refuse("too many connections")
        return
    if addresses.take_waiting():
        try:
            await asyncio.sleep(REFUSAL_PAUSE_S)
        finally:
            addresses.done_waiting()
    wait = max(1, math.ceil(addresses.held_for(address)))
    await socket.deny(429, "Too many connections from this address.", retry_after_s=wait)


def resume_costs(view: SessionView, last_seq: int, address: str) -> list[tuple[Limit, str, int]]:
    """A resume's costs: one resume, and the lines it will be sent again (all of them
    when the client is ahead of the server, PROTOCOL.md 6)."""
    lines = view.last_seq - last_seq if last_seq <= view.last_seq else view.last_seq
    session = f"s{view.id}"
    return [  # the address's resume is counted before the session is read
        (Limit.RESUMES_PER_SESSION, session, 1),
        (Limit.CATCHUP_LINES_PER_SESSION, session, lines),
        (Limit.CATCHUP_LINES_PER_ADDRESS, address, lines),
    ]


def message_costs(session_id: int, address: str) -> list[tuple[Limit, str, int]]:
    return [
        (Limit.MESSAGES_PER_SESSION, f"s{session_id}", 1),
        (Limit.MESSAGES_PER_ADDRESS, address, 1),
    ]


async def answered_challenge(
    socket: LiveSocket[p.ClientFrame, p.ServerFrame], challenges: Challenges, hello: p.Hello
) -> p.Hello:
    """The ``hello`` that proves the work: this one if it carries a good proof, else
    the answer to a ``challenge`` sent now. A client that cannot answer is told why
    and closed with 4400."""
    if hello.proof is not None and await challenges.accept(hello.proof.salt, hello.proof.nonce):
        return hello
    challenge = challenges.issue()
    await socket.send(
        p.ChallengeOut(algorithm="sha256", salt=challenge.salt, difficulty=challenge.difficulty)
    )
    answer: p.Hello | None = None
    try:
        async with asyncio.timeout(CHALLENGE_WAIT_S):
            raw = await socket.receive()
        if isinstance(raw, str) and socket.within_size(raw):
            frame = p.decode_client_frame(raw)
            if isinstance(frame, p.Hello) and frame.token is None:
                answer = frame
    except (TimeoutError, msgspec.DecodeError, msgspec.ValidationError):
        answer = None
    proof = answer.proof if answer is not None else None
    if answer is None or proof is None or not await challenges.accept(proof.salt, proof.nonce):
        error = p.ErrorOut(
            code="rate_limited",
            message=CHALLENGE_UNANSWERED,
            detail=CHALLENGE_DETAIL,
            retry_after_s=60,
        )
        await socket.final(error, p.Close.BAD_HELLO, "challenge not answered")
    return answer
