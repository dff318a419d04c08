"""The person's rating after a chat with a counsellor: accepted only once a chat
that had a counsellor has ended, once, stored with no link to the session or the
counsellor; what supervisors see; and the ``welcome`` extensions the widget uses
(the locales, the helplines in the session's language)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway import protocol as p
from gateway.actions.queue import claim_session
from gateway.actions.ratings import (
    COMMENT_MAX,
    RatingRefused,
    rate_session,
    ratings_summary,
)
from gateway.actions.sessions import leave_session, start_session
from gateway.models import ChatSession, Rating
from gateway.services import Services
from tests.conftest import LiveServer
from tests.factories import make_queued_session, make_session, make_staff
from tests.gateway.test_protocol_support import close_code, open_chat, queued_chat, services_of

pytestmark = pytest.mark.asyncio


async def ended_with_counsellor(svc: Services) -> int:
    sam = await make_staff(svc, name="Sam")
    waiting = await make_queued_session(svc)
    assert (await claim_session(svc, session_id=waiting.id, staff_id=sam.id)).won
    await leave_session(svc, session_id=waiting.id)
    return waiting.id


async def test_a_rating_is_taken_once_after_a_counsellor_chat_and_kept_anonymous(
    svc: Services,
) -> None:
    bot_only = await make_session(svc)
    await leave_session(svc, session_id=bot_only.id)
    with pytest.raises(RatingRefused, match="with a counsellor"):
        await rate_session(svc, session_id=bot_only.id, score=5, comment=None)

    sam = await make_staff(svc, name="Sam")
    live = await make_queued_session(svc)
    assert (await claim_session(svc, session_id=live.id, staff_id=sam.id)).won
    with pytest.raises(RatingRefused, match="once it has ended"):
        await rate_session(svc, session_id=live.id, score=5, comment=None)

    await leave_session(svc, session_id=live.id)
    await rate_session(svc, session_id=live.id, score=4, comment="  Kind and <b>calm</b>  ")
    with pytest.raises(RatingRefused, match="already"):
        await rate_session(svc, session_id=live.id, score=1, comment=None)
    with pytest.raises(RatingRefused, match="1 to 5"):
        await rate_session(svc, session_id=bot_only.id, score=6, comment=None)
    with pytest.raises(RatingRefused, match="at most"):
        await rate_session(svc, session_id=live.id, score=3, comment="x" * (COMMENT_MAX + 1))

    async with svc.read() as session:
        ratings = list((await session.execute(select(Rating))).scalars())
        chat = await session.get(ChatSession, live.id)
    assert [(r.score, r.comment, r.locale) for r in ratings] == [(4, "Kind and <b>calm</b>", "en")]
    assert chat is not None and chat.rated
    # Nothing in a rating points at its session or its counsellor.
    assert set(Rating.__table__.columns.keys()) == {
        "id",
        "score",
        "comment",
        "locale",
        "created_at",
    }


async def test_supervisors_see_count_distribution_average_and_recent_comments(
    svc: Services,
) -> None:
    empty = await ratings_summary(svc)
    assert (empty.count, empty.average, empty.recent) == (0, None, ())
    assert empty.distribution == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}

    for score, comment in [(5, "Thank you"), (3, None), (4, "   "), (5, "Helped a lot")]:
        await rate_session(
            svc, session_id=await ended_with_counsellor(svc), score=score, comment=comment
        )
    summary = await ratings_summary(svc)
    assert summary.count == 4
    assert summary.distribution == {1: 0, 2: 0, 3: 1, 4: 1, 5: 2}
    assert summary.average == pytest.approx(17 / 4)
    assert [(c.score, c.comment) for c in summary.recent] == [(5, "Helped a lot"), (5, "Thank you")]


async def test_the_rating_frame_over_the_widget_socket(live_server: LiveServer) -> None:
    svc = services_of(live_server)
    client, session_id = await queued_chat(live_server)
    early = {"type": "rating", "score": 5}
    await client.send(early)
    refused = await client.recv_until(lambda f: f["type"] == "error")
    assert refused[-1]["code"] == "not_now"

    sam = await make_staff(svc, name="Sam")
    assert (await claim_session(svc, session_id=session_id, staff_id=sam.id)).won
    await client.recv_until(lambda f: f["type"] == "state" and f["state"] == "live")
    await client.send({"type": "leave"})
    assert await close_code(client) == 1000  # after the helplines

    # After leaving, the person comes back with their token to rate the chat.
    again = await open_chat(live_server, token=client.token)
    assert again.welcome["state"] == "closed"
    for bad in ({"score": 0}, {"score": 6}, {"score": 3, "comment": "x" * 1001}, {}):
        await again.send({"type": "rating", **bad})
        error = await again.recv_until(lambda f: f["type"] == "error")
        assert error[-1]["code"] == "bad_frame"
    await again.send({"type": "rating", "score": 2, "comment": "Too slow to reply"})
    assert (await again.recv_until(lambda f: f["type"] in ("rated", "error")))[-1] == {
        "type": "rated"
    }
    await again.send({"type": "rating", "score": 5})
    twice = await again.recv_until(lambda f: f["type"] in ("rated", "error"))
    assert twice[-1]["code"] == "not_now"
    await again.close()
    summary = await ratings_summary(svc)
    assert summary.distribution[2] == 1 and summary.recent[0].comment == "Too slow to reply"


async def test_welcome_carries_the_locales_and_the_helplines_of_the_sessions_language(
    live_server: LiveServer,
) -> None:
    english = await open_chat(live_server)
    assert english.welcome["locales"] == ["en", "cy"]
    names = [h["name"] for h in english.welcome["helplines"]]
    assert names[0] == "Samaritans"
    samaritans = english.welcome["helplines"][0]
    assert "116 123" in samaritans["contact"] and "day or night" in samaritans["contact"]
    assert {"label": "Call Samaritans", "href": "tel:116123"} in samaritans["links"]
    await english.close()

    svc = services_of(live_server)
    _view, token = await start_session(svc, locale="cy")
    welsh = await open_chat(live_server, token=token)
    first = welsh.welcome["helplines"][0]
    assert first["name"] == "Llinell Gymraeg y Samariaid"
    assert "0808 164 0123" in first["contact"]
    assert "bob dydd rhwng 7 yr hwyr ac 11 y nos" in first["contact"]
    assert first["links"] == [{"label": "Ffonio'r Llinell Gymraeg", "href": "tel:08081640123"}]
    await welsh.close()
    assert p.RATING_COMMENT_MAX == COMMENT_MAX
