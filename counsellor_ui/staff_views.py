"""Staff accounts: create them, switch them off and on (supervisors: counsellors; admins: all)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from counsellor_ui import auth
from counsellor_ui.web import form_int, form_text, page, redirect
from gateway.actions.staff import (
    StaffError,
    can_manage,
    create_staff,
    list_staff,
    online_since,
    set_staff_active,
)
from gateway.types import StaffRole


async def staff_page(request: Request) -> Response:
    who = await auth.require(request, supervisor=True)
    svc = auth.runtime_of(request).svc
    role = StaffRole(who.staff.role)
    return page(
        request,
        "staff.html",
        who=who,
        supervisor=True,
        accounts=await list_staff(svc),
        online_after=online_since(svc, svc.clock()),
        can_manage=lambda target: can_manage(role, StaffRole(target)),
        roles=[r for r in StaffRole if can_manage(role, r)],
        notice=request.query_params.get("notice", ""),
    )


async def staff_create(request: Request) -> Response:
    who = await auth.require(request, supervisor=True)
    form = await auth.check_csrf(request, who)
    role_name = form_text(form, "role")
    if role_name not in {r.value for r in StaffRole}:
        raise auth.PageError(400, "Choose a role for the new account.")
    try:
        staff = await create_staff(
            auth.runtime_of(request).svc,
            username=form_text(form, "username"),
            display_name=form_text(form, "display_name"),
            password=form_text(form, "password"),
            role=StaffRole(role_name),
            actor=who.staff,
        )
    except StaffError as exc:
        return redirect("/counsellor/staff", notice=str(exc))
    return redirect("/counsellor/staff", notice=f"Created {staff.role} account {staff.username!r}.")


async def staff_active(request: Request) -> Response:
    who = await auth.require(request, supervisor=True)
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
        return redirect("/counsellor/staff", notice=str(exc))
    if active:
        return redirect("/counsellor/staff", notice=f"{staff.display_name} can sign in again.")
    return redirect(
        "/counsellor/staff",
        notice=f"{staff.display_name} is deactivated and signed out everywhere.",
    )
