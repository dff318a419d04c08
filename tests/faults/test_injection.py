"""Scripts and HTML in every writable field, on every page that shows them (issue 12, item 9).

Payloads (tests/faults/injection.py) go into the person's messages and the words
that raised a crisis, the counsellor's messages, notes, a supervisor's whisper, a
handover note, a wrap-up, canned responses, a display name and a username, a rating's
comment, and the ``notice`` every page echoes. Every page of every role is then
fetched while the chat is live and after it ended: no page may carry live markup,
and each field must show up (escaped) where staff read it. The statistics export
must not start a cell with a formula. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from tests.conftest import LiveServer
from tests.counsellor_ui.support import Browserless
from tests.faults.injection import (
    NAME,
    end_and_rate,
    live_markup,
    payload,
    plant_everywhere,
)

pytestmark = pytest.mark.asyncio

ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


async def fetch(who: Browserless, path: str) -> httpx.Response:
    response = await who.get(path)
    assert response.status_code in (200, 303, 403, 404), (path, response.status_code)
    assert live_markup(response.text) == [], (path, live_markup(response.text))
    return response


async def test_scripts_and_html_in_every_field_are_inert_on_every_page(
    live_server: LiveServer,
) -> None:
    planted = await plant_everywhere(live_server)
    lead, named, sam = planted.lead, planted.named, planted.sam
    chat, waiting = planted.chat_id, planted.waiting_id
    notice = "?notice=" + httpx.QueryParams({"x": payload("zq-notice")})["x"]
    shown: dict[str, str] = {}

    async def everything(label: str) -> None:
        pages = {
            "sam dashboard": (sam, "/counsellor/"),
            "sam chat": (sam, f"/counsellor/sessions/{chat}"),
            "sam wrap-up": (sam, f"/counsellor/sessions/{chat}/wrap-up"),
            "sam not yours": (sam, f"/counsellor/sessions/{waiting}"),
            "named dashboard": (named, "/counsellor/"),
            "named not yours": (named, f"/counsellor/sessions/{chat}"),
            "lead watch": (lead, f"/counsellor/sessions/{chat}/watch"),
            "lead supervisor": (lead, "/counsellor/supervisor"),
            "lead live": (lead, "/counsellor/supervisor/live"),
            "lead canned": (lead, "/counsellor/canned"),
            "admin staff": (planted.admin, "/counsellor/staff"),
            "lead statistics": (lead, "/counsellor/statistics"),
            "lead missing": (lead, "/counsellor/sessions/99999999"),
        }
        for name, (who, path) in pages.items():
            text = (await fetch(who, path)).text
            shown[f"{label} {name}"] = text
            # Every page echoes a notice from the query string: escaped too.
            echoed = (await fetch(who, path + notice)).text
            assert live_markup(echoed) == []

    await everything("live")
    await end_and_rate(live_server, planted)
    await everything("ended")

    def on(page: str, *labels: str) -> None:
        text = shown[page]
        for label in labels:
            assert label in text, (page, label)
        assert ESCAPED_SCRIPT in text or "&#34;&gt;&lt;img" in text, page

    # Each field is shown, escaped, where staff read it.
    on("live sam chat", "zq-said", "zq-staffsaid", "zq-note", "zq-whisper", "zq-hand")
    on("live sam chat", "zq-cbody")  # the canned replies offered to the message box
    on("live lead watch", "zq-said", "zq-staffsaid", "zq-note", "zq-whisper")
    on("live lead canned", "zq-ctitle", "zq-cbody")
    on("live admin staff", "&#34;&gt;&lt;img/src=x", "zq-formname")  # usernames, names
    on("ended sam chat", "zq-said", "zq-staffsaid", "zq-note", "zq-whisper", "zq-hand")
    on("ended lead supervisor", "zq-rating")
    assert "{{7*7}}" in shown["ended sam chat"]  # shown as written, never evaluated
    for name in ("live admin staff", "live sam chat", "live lead watch"):
        assert "=1+2&#34;&gt;&lt;img src=x" in shown[name], name  # the display name
    assert "zq-said" not in shown["live named not yours"]  # and never to a stranger

    # The statistics export: the display name kept, but never read as a formula.
    export = await lead.get("/counsellor/statistics.csv")
    assert export.headers["content-type"].startswith("text/csv")
    assert export.headers["x-content-type-options"] == "nosniff"
    cells = [cell for row in csv.reader(io.StringIO(export.text)) for cell in row]
    assert "'" + NAME in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@") and not c[1:].isdigit()]
    assert "zq-" not in export.text  # no message, note or comment at all
    await planted.person.close()
    await planted.waiting.close()
