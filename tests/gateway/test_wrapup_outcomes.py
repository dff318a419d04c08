"""A wrap-up records every outcome that applies, and the day's report counts each."""

from __future__ import annotations

import pytest

from gateway.actions.queue import claim_session
from gateway.actions.statistics import statistics_for
from gateway.actions.wrapup import WrapUpError, check_wrapup, end_session, wrapup_of
from gateway.services import Services
from tests.counsellor_ui.support import use_quick_setup
from tests.factories import make_queued_session, make_staff

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    use_quick_setup(monkeypatch)


async def test_several_outcomes_are_kept_in_the_settings_order_and_counted(
    svc: Services,
) -> None:
    listened, signposted, plan = svc.settings.wrapup_outcomes[:3]
    with pytest.raises(WrapUpError, match="at least one outcome"):
        check_wrapup(svc, outcomes=[], risk_level="low", notes="")
    with pytest.raises(WrapUpError, match="from the list"):
        check_wrapup(svc, outcomes=[listened, "Made up"], risk_level="low", notes="")
    form = check_wrapup(svc, outcomes=[plan, listened, plan], risk_level="medium", notes="")
    assert form.outcomes == (listened, plan)  # each once, in the order the form lists them

    sam = await make_staff(svc, name="Sam")
    first, second = await make_queued_session(svc), await make_queued_session(svc)
    for chat in (first, second):
        await claim_session(svc, session_id=chat.id, staff_id=sam.id)
    assert (await end_session(svc, session_id=first.id, staff_id=sam.id, wrap_up=form)).done
    other = check_wrapup(svc, outcomes=[signposted, listened], risk_level="low", notes="")
    assert (await end_session(svc, session_id=second.id, staff_id=sam.id, wrap_up=other)).done

    saved = await wrapup_of(svc, session_id=first.id)
    assert saved is not None
    assert sorted(o.outcome for o in saved.outcomes) == sorted([listened, plan])
    today = svc.settings.hours.local(svc.clock()).date()
    stats = await statistics_for(svc, first=today, last=today)
    assert stats.outcomes == [(listened, 2), (signposted, 1), (plan, 1)]
