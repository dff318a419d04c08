"""Scripts and HTML in every writable field: the payloads, and a service full of them.

Shared by the HTTP sweep (test_injection.py, both databases) and the browser test
(test_injection_browser.py). Every field gets a label (``zq-note`` ...) so that a
test can tell that a page really shows the field, and the payloads, so that it can
tell that what is shown is inert.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.actions.staff import create_staff, set_presence
from gateway.types import StaffRole
from tests.chat_client import ChatClient, is_type
from tests.conftest import LiveServer
from tests.counsellor_ui.support import Browserless, frames_until, signed_in_as
from tests.factories import PASSWORD, make_staff
from tests.faults.support import claim, end_chat, person_waiting, services

PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1) id=zqimg>',
    "'><svg onload=alert(1) id=zqsvg>",
    "{{7*7}}",
    "javascript:alert(1)",
    '<a href="javascript:alert(1)" id=zqlink>x</a>',
    "</textarea></script><script>alert(1)</script>",
    "<!--",
)
# Short enough for an 80-character title or display name; no spaces for a username.
SHORT = '"><img src=x onerror=alert(1) id=zqimg>{{7*7}}'
NO_SPACES = '"><img/src=x/onerror=alert(1)/id=zqimg>'
# A spreadsheet formula too: names reach the statistics export.
NAME = "=1+2" + SHORT

# What only live markup could contain: none may appear in any page as sent.
LIVE_MARKUP = (
    "<script>alert",
    "<img src=x",
    "<img/src=x",
    "<svg onload",
    'href="javascript:',
    "href='javascript:",
    "</textarea></script>",
    "id=zqimg>",
)
INJECTED_IDS = ("zqimg", "zqsvg", "zqlink")


def payload(label: str) -> str:
    return f"{label} " + " ".join(PAYLOADS)


def live_markup(html: str) -> list[str]:
    lowered = html.lower()
    return [marker for marker in LIVE_MARKUP if marker.lower() in lowered]


@dataclass
class Planted:
    """Everyone involved, and where each field was written."""

    lead: Browserless
    admin: Browserless
    named: Browserless  # the counsellor whose display name and username are payloads
    sam: Browserless
    person: ChatClient  # the chat that carries every field; ended, rated
    waiting: ChatClient  # another person, still in the queue
    chat_id: int
    waiting_id: int


async def plant_everywhere(server: LiveServer) -> Planted:
    """Write a payload into every field a person or a member of staff can write."""
    svc = services(server)
    lead = await signed_in_as(server, await make_staff(svc, name="Lead", role=StaffRole.SUPERVISOR))
    admin = await signed_in_as(server, await make_staff(svc, name="Admin", role=StaffRole.ADMIN))
    # An admin's form stores a payload as a display name and as a username...
    created = await admin.post(
        "/counsellor/staff",
        username=NO_SPACES + "2",
        display_name="zq-formname " + SHORT,
        role="counsellor",
        password=PASSWORD,
    )
    assert created.status_code in (200, 303), created.text
    # ... and the counsellor who holds the chat has both (made by the same action).
    named_staff = await create_staff(
        svc, username=NO_SPACES, display_name=NAME, password=PASSWORD, role=StaffRole.COUNSELLOR
    )
    await set_presence(svc, staff_id=named_staff.id, available=True)
    named = await signed_in_as(server, named_staff)
    sam = await signed_in_as(server, await make_staff(svc, name="Sam"))
    saved = await lead.post(
        "/counsellor/canned", title="zq-ctitle " + SHORT, shortcut="zq", body=payload("zq-cbody")
    )
    assert "Saved" in saved.headers["location"], saved.headers["location"]

    person, chat_id = await person_waiting(server, payload("zq-said"))
    crisis = "I want to end my life " + SHORT
    await person.say(crisis)
    await person.recv_until(is_type("ack"))
    await claim(named, chat_id)
    socket = await named.socket(chat_id)
    await frames_until(socket, is_type("queue"))
    text = payload("zq-staffsaid").replace('"', '\\"')
    await socket.send(f'{{"type": "say", "client_id": "zq1", "text": "{text}"}}')
    await frames_until(socket, lambda f: f.get("client_id") == "zq1")
    await socket.close()
    await person.recv_until(lambda f: f.get("text", "").startswith("zq-staffsaid"))
    note = await named.post(f"/counsellor/sessions/{chat_id}/notes", note=payload("zq-note"))
    assert note.status_code == 303
    whisper = await lead.post(
        f"/counsellor/sessions/{chat_id}/whisper", message=payload("zq-whisper")
    )
    assert whisper.status_code == 303
    await set_presence(svc, staff_id=sam.staff.id, available=True)  # seen just now
    offer = await named.post(
        f"/counsellor/sessions/{chat_id}/transfer", to=str(sam.staff.id), note=payload("zq-hand")
    )
    assert offer.status_code == 303
    accepted = await sam.post(f"/counsellor/sessions/{chat_id}/transfer/accept")
    location = accepted.headers["location"]
    assert location.startswith(f"/counsellor/sessions/{chat_id}?notice="), location

    # Another person waits; their last words are the queue's preview.
    waiting, waiting_id = await person_waiting(server)
    await waiting.say(payload("zq-queued"))
    await waiting.recv_until(is_type("ack"))
    return Planted(lead, admin, named, sam, person, waiting, chat_id, waiting_id)


async def end_and_rate(server: LiveServer, planted: Planted) -> None:
    """Sam ends the chat with a wrap-up full of payloads; the person rates it with more."""
    await end_chat(planted.sam, planted.chat_id, payload("zq-wrapup"))
    await planted.person.recv_until(lambda f: f["type"] == "state" and f["state"] == "closed")
    await planted.person.send({"type": "rating", "score": 3, "comment": payload("zq-rating")})
    await planted.person.recv_until(is_type("rated"))
