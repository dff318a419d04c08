"""The statistics page and its CSV export over HTTP: who may see them, what they hold."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from gateway.actions.messages import post_counsellor_message, post_user_message
from gateway.actions.queue import claim_session, release_session
from gateway.actions.ratings import rate_session
from gateway.actions.wrapup import check_wrapup, end_session
from gateway.models import AuditEvent
from gateway.services import Services
from gateway.types import StaffRole
from tests.conftest import LiveServer
from tests.counsellor_ui.support import signed_in_as
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio
SECRET = "my neighbour's dog is called Biscuit"
COMMENT = "thank you Sam, it helped a lot"


def services(server: LiveServer) -> Services:
    svc: Services = server.app.state.runtime.svc
    return svc


async def a_day_of_chats(svc: Services) -> None:
    """A chat released and claimed again, wrapped up and rated; someone still waiting."""
    sam = await make_staff(svc, name="Sam<b>Lee</b>")
    kim = await make_staff(svc, name="Kim")
    chat = await make_queued_session(svc)
    await post_user_message(svc, session_id=chat.id, client_id="c1", text=SECRET)
    assert (await claim_session(svc, session_id=chat.id, staff_id=kim.id)).won
    assert await release_session(svc, session_id=chat.id, staff_id=kim.id)
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).won
    await post_counsellor_message(
        svc, session_id=chat.id, staff=sam, client_id="s1", text="I'm here"
    )
    form = check_wrapup(
        svc,
        outcomes=["Listened and supported", "Safety plan agreed"],
        risk_level="medium",
        notes="private note",
    )
    assert (await end_session(svc, session_id=chat.id, staff_id=sam.id, wrap_up=form)).done
    await rate_session(svc, session_id=chat.id, score=4, comment=COMMENT)
    await make_queued_session(svc)


async def test_only_supervisors_and_admins_see_statistics_and_export(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    await a_day_of_chats(svc)
    counsellor = await signed_in_as(live_server, await make_staff(svc, name="Cal"))
    for path in ("/counsellor/statistics", "/counsellor/statistics.csv?period=30d"):
        response = await counsellor.get(path)
        assert response.status_code == 403
        assert "Kim" not in response.text  # no per-counsellor figures, nor any other
    page = await counsellor.get("/counsellor/")
    assert 'href="/counsellor/statistics"' not in page.text
    async with svc.read() as session:
        exports = select(AuditEvent).where(AuditEvent.action == "export")
        assert (await session.execute(exports)).scalars().all() == []

    for role in (StaffRole.SUPERVISOR, StaffRole.ADMIN):
        boss = await signed_in_as(live_server, await make_staff(svc, name="Boss", role=role))
        response = await boss.get("/counsellor/statistics?period=today")
        assert response.status_code == 200
        assert 'href="/counsellor/statistics"' in response.text


async def test_the_page_and_the_export_hold_aggregates_and_no_words(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    await a_day_of_chats(svc)
    boss = await make_staff(svc, name="Pat", role=StaffRole.SUPERVISOR)
    pat = await signed_in_as(live_server, boss)
    html = (await pat.get("/counsellor/statistics?period=today")).text
    assert "Sam&lt;b&gt;Lee&lt;/b&gt;" in html and "<b>Lee</b>" not in html  # escaped
    assert SECRET not in html and COMMENT not in html and "private note" not in html
    assert '<label for="period">Period</label>' in html
    assert "Safety plan agreed" in html and "<figure" in html and "Medium" in html

    response = await pat.get("/counsellor/statistics.csv?period=today")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    body = response.text
    assert SECRET not in body and COMMENT not in body and "private note" not in body
    rows = list(csv.reader(io.StringIO(body)))
    sections: dict[str, tuple[list[str], list[list[str]]]] = {}
    block: list[list[str]] = []
    for row in rows:
        if row:
            block.append(row)
        elif block:  # a blank row ends a section: title, header, data
            sections[block[0][0]] = (block[1], block[2:])
            block = []
    header, data = sections["Waits"]
    waits = dict(zip(header, data[0], strict=True))
    assert (waits["waits"], waits["claimed"], waits["still_waiting"]) == ("3", "2", "1")
    header, data = sections["Per counsellor"]
    chats = {row[0]: row[1] for row in data if row}
    assert chats == {"Sam<b>Lee</b>": "1", "Kim": "1"}
    header, data = sections["Wrap-up outcomes"]
    assert ["Safety plan agreed", "1"] in data
    header, data = sections["Ratings"]
    assert data[0] == ["4", "1"]
    async with svc.read() as session:
        exports = select(AuditEvent).where(AuditEvent.action == "export")
        (event,) = (await session.execute(exports)).scalars().all()
    assert (event.action, event.staff_id, event.session_id) == ("export", boss.id, None)
    assert event.detail == "statistics period=today"


async def test_a_bad_choice_says_so_and_shows_the_last_seven_days(live_server: LiveServer) -> None:
    svc = services(live_server)
    pat = await signed_in_as(live_server, await make_staff(svc, role=StaffRole.SUPERVISOR))
    for query, words in (
        ("period=custom&from=2026-05-09&to=2026-05-01", "first date comes after the last"),
        ("period=custom&from=2026-05-01", "Give both dates"),
        ("period=fortnight", "not one of the choices"),
        ("priority=urgent", "priority is not one of the choices"),
    ):
        response = await pat.get(f"/counsellor/statistics?{query}")
        assert response.status_code == 200
        assert 'role="alert"' in response.text and words in response.text
    ok = await pat.get(
        "/counsellor/statistics?period=custom&from=2026-03-28&to=2026-03-30&priority=high"
    )
    assert "28 Mar 2026 to 30 Mar 2026" in ok.text and 'value="high" selected' in ok.text
