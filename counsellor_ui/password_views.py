"""Choosing a new password: forced after an admin's reset, or whenever staff want to.

Until a reset password is replaced every staff page sends its holder here
(``auth.require``). A change signs the account out everywhere else and gives this
browser a new session.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from counsellor_ui import auth
from counsellor_ui.web import form_text, page, redirect
from gateway.actions.signin import SignedIn, change_password
from gateway.actions.staff import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, StaffError
from gateway.password_work import PasswordWorkBusy

BUSY = "The service is busy right now. Try again in a moment."


def _form(request: Request, who: SignedIn, error: str = "", status: int = 200) -> Response:
    response = page(
        request,
        "password.html",
        status,
        who=None if who.staff.must_change_password else who,
        account=who.staff,
        csrf_token=who.csrf_token,
        forced=who.staff.must_change_password,
        error=error,
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
    )
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


async def password_page(request: Request) -> Response:
    return _form(request, await auth.require(request, new_password=True))


async def password_post(request: Request) -> Response:
    who = await auth.require(request, new_password=True)
    form = await auth.check_csrf(request, who)
    current = form_text(form, "current")
    new = form_text(form, "new")
    if new != form_text(form, "again"):
        return _form(request, who, "The two new passwords were not the same.", 400)
    svc = auth.runtime_of(request).svc
    try:
        session_id, _csrf = await change_password(
            svc,
            staff_id=who.staff.id,
            current=current,
            new=new,
            address=request.client.host if request.client else "",
        )
    except PasswordWorkBusy:
        return _form(request, who, BUSY, 503)
    except StaffError as exc:
        return _form(request, who, str(exc), 400)
    response = redirect("/counsellor/", notice="Your new password is set.")
    auth.set_session_cookie(response, request, session_id, int(svc.settings.staff_session_s))
    return response
