"""Staff accounts as actions: throttled sign-in across processes, rehash, sign-out, deactivation."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

import gateway.actions.signin
import gateway.actions.staff
from gateway.actions.queue import claim_session
from gateway.actions.signin import sign_in, sign_out, staff_for_session, start_staff_session
from gateway.actions.staff import StaffError, create_staff, set_staff_active
from gateway.broker import MemoryBroker
from gateway.db import Database
from gateway.events import QUEUE_CHANNEL, StaffSignedOut, staff_channel
from gateway.services import Services
from gateway.types import StaffRole
from tests.counsellor_ui.support import Clock, chat_row, recording
from tests.factories import PASSWORD, make_queued_session, make_staff

pytestmark = pytest.mark.asyncio


async def test_sign_in_is_throttled_per_username_across_processes(svc: Services) -> None:
    clock = Clock()
    svc.clock = clock
    sam = await make_staff(svc, name="Sam")
    other = Services(
        settings=svc.settings,
        db=Database(svc.settings.effective_database_url),
        broker=MemoryBroker(),
        bot=svc.bot,
        clock=clock,
    )
    try:
        limit = svc.settings.login_max_failures
        for attempt in range(limit):
            # Alternate between two processes: the count is in the database.
            process = svc if attempt % 2 else other
            result = await sign_in(process, username=sam.username, password="wrong guess")
            assert (result.staff, result.blocked) == (None, False)
        blocked = await sign_in(other, username=f"  {sam.username.upper()} ", password=PASSWORD)
        assert blocked.blocked and blocked.staff is None
        # Another username is not affected.
        jo = await make_staff(svc, name="Jo")
        assert (await sign_in(svc, username=jo.username, password=PASSWORD)).staff is not None
        clock.advance(svc.settings.login_window_s + 1)
        allowed = await sign_in(svc, username=sam.username, password=PASSWORD)
        assert allowed.staff is not None and allowed.staff.id == sam.id
    finally:
        await other.db.dispose()


async def test_a_hash_made_with_old_parameters_is_replaced_at_sign_in(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    sam = await make_staff(svc, name="Sam")
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    monkeypatch.setattr(gateway.actions.staff, "hasher", stronger)
    monkeypatch.setattr(gateway.actions.signin, "hasher", stronger)
    result = await sign_in(svc, username=sam.username, password=PASSWORD)
    assert result.staff is not None
    async with svc.read() as session:
        stored = await session.get(type(sam), sam.id)
    assert stored is not None and stored.password_hash != sam.password_hash
    assert not stronger.check_needs_rehash(stored.password_hash)
    assert stronger.verify(stored.password_hash, PASSWORD)


async def test_sign_out_ends_every_session_and_puts_live_chats_back(svc: Services) -> None:
    sam = await make_staff(svc, name="Sam")
    laptop, _ = await start_staff_session(svc, staff_id=sam.id)
    phone, _ = await start_staff_session(svc, staff_id=sam.id)
    chat = await make_queued_session(svc)
    await claim_session(svc, session_id=chat.id, staff_id=sam.id)
    async with recording(svc, staff_channel(sam.id), QUEUE_CHANNEL) as events:
        await sign_out(svc, session_id=laptop)
    assert events.of(StaffSignedOut) == [StaffSignedOut(staff_id=sam.id)]
    assert await staff_for_session(svc, session_id=laptop) is None
    assert await staff_for_session(svc, session_id=phone) is None
    row = await chat_row(svc, chat.id)
    assert (row.state, row.queue_front) == ("queued", True)


async def test_a_new_sign_in_replaces_the_session_the_browser_had(svc: Services) -> None:
    sam = await make_staff(svc, name="Sam")
    planted, _ = await start_staff_session(svc, staff_id=sam.id)
    fresh, csrf = await start_staff_session(svc, staff_id=sam.id, replaces=planted)
    assert fresh != planted and len(csrf) >= 32
    assert await staff_for_session(svc, session_id=planted) is None
    assert await staff_for_session(svc, session_id=fresh) is not None


async def test_deactivating_signs_out_and_releases_and_roles_limit_who_may(
    svc: Services,
) -> None:
    admin = await make_staff(svc, name="Ada", role=StaffRole.ADMIN)
    lead = await make_staff(svc, name="Lead", role=StaffRole.SUPERVISOR)
    sam = await make_staff(svc, name="Sam")
    browser, _ = await start_staff_session(svc, staff_id=sam.id)
    chat = await make_queued_session(svc)
    await claim_session(svc, session_id=chat.id, staff_id=sam.id)

    with pytest.raises(StaffError, match="own account"):
        await set_staff_active(svc, actor=lead, staff_id=lead.id, active=False)
    with pytest.raises(StaffError, match="cannot change admin"):
        await set_staff_active(svc, actor=lead, staff_id=admin.id, active=False)
    with pytest.raises(StaffError, match="cannot create supervisor"):
        await create_staff(
            svc,
            username="newlead",
            display_name="New lead",
            password=PASSWORD,
            role=StaffRole.SUPERVISOR,
            actor=lead,
        )
    async with recording(svc, staff_channel(sam.id)) as events:
        await set_staff_active(svc, actor=lead, staff_id=sam.id, active=False)
    assert events.of(StaffSignedOut) == [StaffSignedOut(staff_id=sam.id)]
    assert await staff_for_session(svc, session_id=browser) is None
    assert (await sign_in(svc, username=sam.username, password=PASSWORD)).staff is None
    assert (await chat_row(svc, chat.id)).state == "queued"
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).reason == "inactive"

    await set_staff_active(svc, actor=admin, staff_id=sam.id, active=True)
    assert (await sign_in(svc, username=sam.username, password=PASSWORD)).staff is not None
