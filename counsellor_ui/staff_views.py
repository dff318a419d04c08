"""Staff accounts, for admins only: create, change roles, reset passwords, deactivate,
reactivate and unlock (gateway/actions/accounts.py). Supervisors and counsellors get 403.

A new account and a reset password get a temporary password, shown to the admin once
on the page that answers the form (never in an address, never stored but as a hash);
its holder must choose their own at the next sign-in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from counsellor_ui import auth
from counsellor_ui.web import form_int, form_text, page, query_text, redirect
from gateway.actions.accounts import (
    reset_password,
    set_role,
    set_staff_active,
    temporary_password,
    unlock_account,
)
from gateway.actions.signin import SignedIn
from gateway.actions.staff import StaffError, create_staff, list_staff, online_since
from gateway.models import Staff
from gateway.password_work import PasswordWorkBusy
from gateway.types import StaffRole

STAFF_PAGE = "/counsellor/staff"
BUSY = "The service is busy right now. Try again in a moment."


async def _page(
    request: Request,
    who: SignedIn,
    *,
    notice: str = "",
    issued: tuple[Staff, str] | None = None,
    status: int = 200,
) -> Response:
    svc = auth.runtime_of(request).svc
    accounts = await list_staff(svc)
    failures = {a.id: await svc.signin_limits.recent_failures(a.username) for a in accounts}
    return page(
        request,
        "staff.html",
        status,
        who=who,
        accounts=accounts,
        failures=failures,
        online_after=online_since(svc, svc.clock()),
        roles=list(StaffRole),
        window_minutes=round(svc.settings.login_window_s / 60),
        notice=notice,
        issued=issued,
    )


async def staff_page(request: Request) -> Response:
    who = await auth.require(request, admin=True)
    return await _page(request, who, notice=query_text(request, "notice"))


def _role(raw: str) -> StaffRole:
    if raw not in {r.value for r in StaffRole}:
        raise auth.PageError(400, "Choose a role for the account.")
    return StaffRole(raw)


async def _issuing(
    request: Request,
    who: SignedIn,
    issue: Callable[[], Awaitable[tuple[Staff, str]]],
    notice: Callable[[Staff], str],
) -> Response:
    """Run an action that issues a temporary password: show it once, or say why not."""
    try:
        staff, temporary = await issue()
    except PasswordWorkBusy:
        return await _page(request, who, notice=BUSY, status=503)
    except StaffError as exc:
        return redirect(STAFF_PAGE, notice=str(exc))
    return await _page(request, who, notice=notice(staff), issued=(staff, temporary))


async def staff_create(request: Request) -> Response:
    who = await auth.require(request, admin=True)
    form = await auth.check_csrf(request, who)

    async def create() -> tuple[Staff, str]:
        temporary = temporary_password()
        staff = await create_staff(
            auth.runtime_of(request).svc,
            username=form_text(form, "username"),
            display_name=form_text(form, "display_name"),
            password=temporary,
            role=_role(form_text(form, "role")),
            actor=who.staff,
            must_change_password=True,
        )
        return staff, temporary

    return await _issuing(
        request, who, create, lambda staff: f"Created {staff.role} account {staff.username!r}."
    )


async def staff_reset(request: Request) -> Response:
    who = await auth.require(request, admin=True)
    form = await auth.check_csrf(request, who)
    svc = auth.runtime_of(request).svc
    staff_id = form_int(form, "id")
    return await _issuing(
        request,
        who,
        lambda: reset_password(svc, actor=who.staff, staff_id=staff_id),
        lambda staff: (
            f"{staff.display_name}'s password is reset and they are signed out everywhere."
        ),
    )


async def staff_role(request: Request) -> Response:
    who = await auth.require(request, admin=True)
    form = await auth.check_csrf(request, who)
    role = _role(form_text(form, "role"))
    svc = auth.runtime_of(request).svc
    try:
        staff = await set_role(svc, actor=who.staff, staff_id=form_int(form, "id"), role=role)
    except StaffError as exc:
        return redirect(STAFF_PAGE, notice=str(exc))
    return redirect(STAFF_PAGE, notice=f"{staff.display_name} is now {staff.role}.")


async def staff_active(request: Request) -> Response:
    who = await auth.require(request, admin=True)
    form = await auth.check_csrf(request, who)
    active = form_text(form, "active") == "yes"
    try:
        staff = await set_staff_active(
            auth.runtime_of(request).svc,
            actor=who.staff,
            staff_id=form_int(form, "id"),
            active=active,
        )
    except StaffError as exc:
        return redirect(STAFF_PAGE, notice=str(exc))
    if active:
        return redirect(STAFF_PAGE, notice=f"{staff.display_name} can sign in again.")
    return redirect(
        STAFF_PAGE,
        notice=f"{staff.display_name} is deactivated and signed out everywhere.",
    )


async def staff_unlock(request: Request) -> Response:
    who = await auth.require(request, admin=True)
    form = await auth.check_csrf(request, who)
    svc = auth.runtime_of(request).svc
    try:
        staff = await unlock_account(svc, actor=who.staff, staff_id=form_int(form, "id"))
    except StaffError as exc:
        return redirect(STAFF_PAGE, notice=str(exc))
    return redirect(
        STAFF_PAGE, notice=f"{staff.display_name}'s sign-in counters are cleared everywhere."
    )
