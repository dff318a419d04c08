"""/counsellor/audit over HTTP: admins only, filters in the service's time zone, pages
by id, every value escaped, bad filters answered 400 in words, the CSV download audited.
SQLite and PostgreSQL, on a real server.
"""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from counsellor_ui.audit_views import ACTION_LABELS
from gateway.actions import audit as audit_module
from gateway.actions.audit import CLAIM, END, EXPORT, SIGN_IN, audit
from gateway.models import AuditEvent
from gateway.services import Services
from gateway.settings import Settings
from gateway.types import StaffRole
from tests.conftest import LiveServer, make_settings
from tests.counsellor_ui.support import Clock, signed_in_as, use_quick_setup
from tests.factories import make_staff

pytestmark = pytest.mark.asyncio
# Nine hours ahead of UTC all year: local dates are easy to check by hand.
ZONE = "Asia/Tokyo"
ROWS = re.compile(r"<tr>\s*<td><time datetime=\"[^\"]+\">([^<]+)</time></td>\s*<td>([^<]*)</td>")


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, timezone=ZONE)


def services(server: LiveServer) -> Services:
    svc: Services = server.app.state.runtime.svc
    return svc


async def write(svc: Services, at: datetime, action: str, **line: object) -> None:
    """One line at a chosen time, through the one way lines are written."""
    svc.clock = Clock(at)
    async with svc.transaction() as tx:
        audit(tx, action, **line)  # type: ignore[arg-type]


def stamps(page: str) -> list[str]:
    return [when for when, _ in ROWS.findall(page)]


async def test_every_action_has_words_on_the_page() -> None:
    vocabulary = {
        value
        for name, value in vars(audit_module).items()
        if name.isupper() and isinstance(value, str) and not name.startswith("MAX_")
    }
    assert vocabulary <= set(ACTION_LABELS), vocabulary - set(ACTION_LABELS)


async def test_only_admins_see_the_audit_log(live_server: LiveServer) -> None:
    svc = services(live_server)
    for role in (StaffRole.COUNSELLOR, StaffRole.SUPERVISOR):
        member = await signed_in_as(live_server, await make_staff(svc, role=role))
        for path in ("/counsellor/audit", "/counsellor/audit.csv"):
            refused = await member.get(path)
            assert refused.status_code == 403, (role, path)
            assert "admins" in refused.text
        assert 'href="/counsellor/audit"' not in (await member.get("/counsellor/")).text
    admin = await signed_in_as(live_server, await make_staff(svc, role=StaffRole.ADMIN))
    assert 'href="/counsellor/audit"' in (await admin.get("/counsellor/")).text
    await write(svc, datetime.now(UTC), CLAIM, staff_id=member.staff.id, session_id=1)
    shown = await admin.get("/counsellor/audit")
    assert shown.status_code == 200
    assert "<caption>" in shown.text and 'scope="col"' in shown.text
    async with svc.read() as session:
        exports = (await session.execute(select(AuditEvent.action))).scalars().all()
    assert EXPORT not in exports  # nothing downloaded: no export line


async def test_filters_read_local_dates_and_pages_follow_ids(live_server: LiveServer) -> None:
    svc = services(live_server)
    sam = await make_staff(svc, name="Sam")
    jo = await make_staff(svc, name="Jo")
    admin = await signed_in_as(live_server, await make_staff(svc, role=StaffRole.ADMIN))
    # 23:00 on 30 June in Tokyo, then 05:30 and 08:59:59 on 1 July, then 2 July.
    await write(svc, datetime(2026, 6, 30, 14, 0, tzinfo=UTC), CLAIM, staff_id=sam.id, session_id=7)
    await write(svc, datetime(2026, 6, 30, 20, 30, tzinfo=UTC), CLAIM, staff_id=jo.id, session_id=8)
    await write(
        svc, datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC), END, staff_id=jo.id, session_id=8
    )
    await write(svc, datetime(2026, 7, 1, 15, 0, tzinfo=UTC), SIGN_IN, staff_id=sam.id)

    day = await admin.get("/counsellor/audit?from=2026-07-01&to=2026-07-01")
    assert day.status_code == 200
    assert stamps(day.text) == ["2026-07-01 08:59:59", "2026-07-01 05:30:00"]  # newest first
    assert "Jo (jo" in day.text and "Ended a chat" in day.text
    by_session = await admin.get("/counsellor/audit?session=Chat%208")
    assert stamps(by_session.text) == ["2026-07-01 08:59:59", "2026-07-01 05:30:00"]
    assert stamps((await admin.get("/counsellor/audit?session=%237")).text) == [
        "2026-06-30 23:00:00"
    ]
    by_staff = await admin.get(f"/counsellor/audit?staff={sam.id}")
    assert stamps(by_staff.text) == ["2026-07-02 00:00:00", "2026-06-30 23:00:00"]
    by_action = await admin.get(f"/counsellor/audit?action={CLAIM}&staff={jo.id}")
    assert stamps(by_action.text) == ["2026-07-01 05:30:00"]
    assert "No lines match" in (await admin.get("/counsellor/audit?session=9")).text

    # 120 more lines: pages of 50 by id, older and newer, with the filter kept.
    for n in range(120):
        at = datetime(2026, 8, 1, 0, 0, n % 60, tzinfo=UTC)
        await write(svc, at, CLAIM, staff_id=sam.id, session_id=1000 + n)
    query = f"action={CLAIM}&staff={sam.id}"
    seen: list[str] = []
    page = (await admin.get(f"/counsellor/audit?{query}")).text
    while True:
        seen += re.findall(r'aria-label="Every line about chat (\d+)"', page)
        older = re.search(r'href="/counsellor/audit\?([^"]+)">Older lines', page)
        if older is None:
            break
        assert "staff=" in older.group(1) and "action=claim" in older.group(1)
        page = (await admin.get(f"/counsellor/audit?{html.unescape(older.group(1))}")).text
    assert seen == [str(1000 + n) for n in reversed(range(120))] + ["7"]
    newer = re.search(r'href="/counsellor/audit\?([^"]+)">Newer lines', page)
    assert newer is not None
    back = (await admin.get(f"/counsellor/audit?{html.unescape(newer.group(1))}")).text
    # The page before the last: the same 50 lines as when going down.
    assert re.findall(r"Every line about chat (\d+)", back) == [
        str(1000 + n) for n in reversed(range(20, 70))
    ]


async def test_bad_filters_answer_400_in_words(live_server: LiveServer) -> None:
    svc = services(live_server)
    admin = await signed_in_as(live_server, await make_staff(svc, role=StaffRole.ADMIN))
    for query, words in (
        ("action=drop_table", "not one of the choices"),
        ("action=claim%00", "not one of the choices"),
        ("staff=abc", "must be a number"),
        ("staff=99999999999999999999999", "must be a number"),
        ("staff=%C2%B2", "must be a number"),
        ("session=2147483648", "its number"),
        ("session=12%00", "its number"),
        ("session=%D9%A3", "its number"),
        ("from=2026-13-01", "YYYY-MM-DD"),
        ("from=0001-01-01", "YYYY-MM-DD"),
        ("to=9999-12-31", "YYYY-MM-DD"),
        ("from=2026-07-02&to=2026-07-01", "comes after the last"),
        ("before=-1", "must be a number"),
        ("after=1e9", "must be a number"),
    ):
        answer = await admin.get(f"/counsellor/audit?{query}")
        assert answer.status_code == 400, query
        assert words in answer.text, query
        assert "Traceback" not in answer.text
        assert (await admin.get(f"/counsellor/audit.csv?{query}")).status_code == 400, query


async def test_every_value_is_escaped_and_the_download_is_audited(
    live_server: LiveServer,
) -> None:
    svc = services(live_server)
    odd = await make_staff(svc, name="<script>alert(1)</script>\u202e")
    boss = await make_staff(svc, role=StaffRole.ADMIN)
    admin = await signed_in_as(live_server, boss)
    now = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    await write(svc, now, EXPORT, staff_id=odd.id, detail='=HYPERLINK("x") <b>bold</b>')

    page = await admin.get("/counsellor/audit")
    assert "<script>alert(1)</script>" not in page.text and "<b>bold</b>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;[U+202E]" in page.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text

    got = await admin.get(f"/counsellor/audit.csv?action={EXPORT}&staff={odd.id}")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    header, *rows = list(csv.reader(io.StringIO(got.text)))
    shown_username = odd.username.replace("\u202e", "[U+202E]")
    assert header[1] == f"time ({ZONE})"
    assert [(r[1], r[2], r[3], r[5]) for r in rows] == [
        (
            "2026-07-01 21:00:00",
            f"<script>alert(1)</script>[U+202E] ({shown_username})",
            EXPORT,
            '\'=HYPERLINK("x") <b>bold</b>',
        )
    ]
    async with svc.read() as session:
        lines = await session.execute(
            select(AuditEvent.staff_id, AuditEvent.action, AuditEvent.detail).where(
                AuditEvent.staff_id == boss.id, AuditEvent.action == EXPORT
            )
        )
        assert [tuple(r) for r in lines.all()] == [
            (boss.id, EXPORT, f"audit log action=export&staff={odd.id}")
        ]
