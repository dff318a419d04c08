"""Clearing a flood: a supervisor or admin closes one flood group's waiting sessions.

The dashboard and the supervisor's board show a flood (one source making sessions
beyond HAVEN_FLOOD_SESSIONS, gateway/abuse/floods.py) as one group with a "Clear
flood" button; the action (gateway/actions/floods.py) gives each person there a calm
ending with the helplines and writes one audit line.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from counsellor_ui import auth
from counsellor_ui.web import redirect
from gateway.actions.floods import clear_flood

# Labels are 16 lowercase hex characters (gateway/abuse/floods.py, ``new_label``).
LABEL = re.compile(r"[0-9a-f]{16}")
# Where the button was pressed: the page to go back to.
BACK = {"dashboard": "/counsellor/", "supervisor": "/counsellor/supervisor"}


async def clear_flood_post(request: Request) -> Response:
    who = await auth.require(request, supervisor=True)
    form = await auth.check_csrf(request, who)
    label = str(request.path_params.get("label", ""))
    if not LABEL.fullmatch(label):
        raise auth.PageError(404, "There is no such flood.")
    closed = await clear_flood(auth.runtime_of(request).svc, label=label, staff_id=who.staff.id)
    back = BACK.get(str(form.get("back", "")), BACK["dashboard"])
    if not closed:
        return redirect(back, notice="That flood has no waiting sessions left.")
    sessions = "1 waiting session" if closed == 1 else f"{closed} waiting sessions"
    return redirect(back, notice=f"Flood cleared: {sessions} closed, each with the helplines.")
