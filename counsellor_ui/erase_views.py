"""An admin erases a conversation by its reference (the chat number staff pages show).

Two steps, so that a mistyped number erases nothing: the number is looked up and
the admin sees what it is (its state, when it started and closed) and must press
"Erase chat N" on that page. The erase is ``erase_session``, exactly what the
person's own "Delete my conversation" does (the person's widget, if connected, is
told; ``HAVEN_ERASE_STAFF_RECORDS`` applies), and its audit line names the admin.
Admins only: erasing is irreversible, and the service's record of what it decided
(outcomes, risk) follows the same policy as the person's own erase.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from counsellor_ui import auth
from counsellor_ui.web import form_text, page, query_text, redirect
from gateway.actions.sessions import erase_session, was_erased
from gateway.actions.signin import SignedIn
from gateway.actions.workspace import chat_for_staff
from gateway.types import StaffRole

ERASE_URL = "/counsellor/erase"
# A chat number is a positive 32-bit integer: at most 10 digits.
MAX_REFERENCE_DIGITS = 10


async def _admin(request: Request) -> SignedIn:
    who = await auth.require(request, supervisor=True)
    if StaffRole(who.staff.role) != StaffRole.ADMIN:
        raise auth.PageError(403, "Erasing a conversation is for admins.")
    return who


def _reference(raw: str) -> int | None:
    """The chat number typed (with or without its '#' or 'Chat '), or None if not one."""
    text = raw.strip().removeprefix("#").strip()
    if text.lower().startswith("chat"):
        text = text[4:].strip()
    if not text.isascii() or not text.isdigit() or len(text) > MAX_REFERENCE_DIGITS:
        return None
    number = int(text)
    return number if 0 < number < 2**31 else None


async def erase_page(request: Request) -> Response:
    """The form, or (with ``?session=N``) what chat N is and the button that erases it."""
    who = await _admin(request)
    svc = auth.runtime_of(request).svc
    raw = request.query_params.get("session", "")
    context: dict[str, object] = {"who": who, "typed": "", "chat": None, "problem": ""}
    if raw.strip():
        session_id = _reference(raw[:40])
        chat = None if session_id is None else await chat_for_staff(svc, session_id=session_id)
        if session_id is None:
            # Never echoed: what was typed may hold anything (controls, overrides).
            context["problem"] = "That is not a chat number. Type the number only, such as 1234."
        elif chat is None:
            context.update(typed=str(session_id), problem=f"There is no chat {session_id}.")
        else:
            context.update(typed=str(session_id), chat=chat, erased=was_erased(chat))
    notice = query_text(request, "notice")
    return page(request, "erase.html", 200, notice=notice, **context)


async def erase_post(request: Request) -> Response:
    who = await _admin(request)
    form = await auth.check_csrf(request, who)
    svc = auth.runtime_of(request).svc
    session_id = _reference(form_text(form, "session"))
    if session_id is None:
        raise auth.PageError(400, "That is not a chat number. Go back and try again.")
    if await chat_for_staff(svc, session_id=session_id) is None:
        raise auth.PageError(404, "There is no such chat.")
    await erase_session(svc, session_id=session_id, staff_id=who.staff.id)
    return redirect(
        ERASE_URL,
        notice=f"Chat {session_id} is erased: its messages and what staff wrote about it "
        f"under this service's policy are gone. Your erase is in the audit log.",
    )
