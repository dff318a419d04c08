"""Staff accounts as actions: sign-in throttles nobody can turn into a lock-out, rehash,
sign-out, and what admins do to accounts (roles, resets, deactivation, unlocks), each
with its audit line. On SQLite and PostgreSQL; Redis where processes share counters."""

from __future__ import annotations

import uuid
from dataclasses import replace
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

import gateway.actions.signin
import gateway.actions.staff
from gateway.actions import audit as actions
from gateway.actions.accounts import (
    reset_password,
    set_role,
    set_staff_active,
    unlock_account,
)
from gateway.actions.queue import claim_session
from gateway.actions.signin import (
    change_password,
    sign_in,
    sign_out,
    staff_for_session,
    start_staff_session,
)
from gateway.actions.staff import StaffError, create_staff
from gateway.app import build_bot
from gateway.broker import MemoryBroker
from gateway.db import Database
from gateway.events import QUEUE_CHANNEL, StaffSignedOut, staff_channel
from gateway.models import AuditEvent, Staff
from gateway.services import Services
from gateway.settings import Settings
from gateway.signin_limits import SignInLimits
from gateway.types import StaffRole
from tests.counsellor_ui.support import chat_row, recording
from tests.factories import PASSWORD, make_queued_session, make_staff
from tests.services import REDIS_URL, missing, port_open

pytestmark = pytest.mark.asyncio
WRONG = "wrong guess"


def quick_slow_down(svc: Services) -> None:
    """The account's slow-down capped at 10 ms, so a test of many failures stays quick."""
    svc.settings = replace(svc.settings, login_account_delay_max_s=0.01)
    svc.signin_limits = SignInLimits(svc.settings)


async def audit_lines(svc: Services, action: str) -> list[AuditEvent]:
    async with svc.read() as session:
        rows = await session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
        return list(rows.scalars())


async def test_wrong_passwords_from_anywhere_never_lock_the_counsellor_out(
    svc: Services,
) -> None:
    """Before: five wrong passwords from anyone locked the account for 30 minutes."""
    quick_slow_down(svc)
    sam = await make_staff(svc, name="Sam")
    limit = svc.settings.login_max_failures
    attackers = [f"203.0.113.{n}" for n in range(1, 13)]
    for address in attackers:
        for _ in range(limit):
            result = await sign_in(svc, username=sam.username, password=WRONG, address=address)
            assert (result.staff, result.refused) == (None, None)
        # That address is done with this account, even with the right password ...
        stopped = await sign_in(svc, username=sam.username, password=PASSWORD, address=address)
        assert stopped.refused == "account_at_address" and stopped.staff is None
        assert 1 <= stopped.retry_after_s <= svc.settings.login_window_s
    # ... while 60 failures from elsewhere only slow the account down, never lock it.
    assert 0 < await svc.signin_limits.delay_for(sam.username) <= 0.01
    mine = await sign_in(svc, username=sam.username, password=PASSWORD, address="198.51.100.7")
    assert mine.staff is not None and mine.staff.id == sam.id


async def test_case_and_space_variants_share_one_counter(svc: Services) -> None:
    sam = await make_staff(svc, name="Sam")
    name = sam.username
    variants = [name.upper(), f"  {name} ", name.title(), f"\t{name}", name]
    for variant in variants[: svc.settings.login_max_failures]:
        result = await sign_in(svc, username=variant, password=WRONG, address="203.0.113.5")
        assert result.refused is None and result.staff is None
    for variant in variants:
        again = await sign_in(svc, username=variant, password=PASSWORD, address="203.0.113.5")
        assert again.refused == "account_at_address"
    other = await sign_in(svc, username=f" {name.upper()}", password=PASSWORD, address="10.0.0.9")
    assert other.staff is not None and other.staff.id == sam.id
    # Every failure is in the audit log under the normalised name, never the password.
    failed = await audit_lines(svc, actions.SIGN_IN_FAILED)
    assert [(line.detail, line.staff_id) for line in failed] == [(name, sam.id)] * 5


async def test_one_address_trying_many_names_is_refused_and_told_when(svc: Services) -> None:
    for n in range(svc.settings.login_address_attempts):
        result = await sign_in(svc, username=f"nobody{n}", password=WRONG, address="203.0.113.9")
        assert result.refused is None
    sam = await make_staff(svc, name="Sam")
    refused = await sign_in(svc, username=sam.username, password=PASSWORD, address="203.0.113.9")
    assert refused.refused == "address" and refused.staff is None
    assert 1 <= refused.retry_after_s <= svc.settings.login_window_s
    elsewhere = await sign_in(svc, username=sam.username, password=PASSWORD, address="10.1.1.1")
    assert elsewhere.staff is not None


async def test_an_admin_unlocks_an_account_for_every_address(svc: Services) -> None:
    admin = await make_staff(svc, name="Ada", role=StaffRole.ADMIN)
    sam = await make_staff(svc, name="Sam")
    for address in ("10.0.0.1", "10.0.0.2"):
        for _ in range(svc.settings.login_max_failures):
            await sign_in(svc, username=sam.username, password=WRONG, address=address)
        locked = await sign_in(svc, username=sam.username, password=PASSWORD, address=address)
        assert locked.refused == "account_at_address"
    assert await svc.signin_limits.recent_failures(sam.username) == 10
    lead = await make_staff(svc, name="Lead", role=StaffRole.SUPERVISOR)
    with pytest.raises(StaffError, match="Only admins"):
        await unlock_account(svc, actor=lead, staff_id=sam.id)
    await unlock_account(svc, actor=admin, staff_id=sam.id)
    assert await svc.signin_limits.recent_failures(sam.username) == 0
    for address in ("10.0.0.1", "10.0.0.2"):
        result = await sign_in(svc, username=sam.username, password=PASSWORD, address=address)
        assert result.staff is not None
    (line,) = await audit_lines(svc, actions.ACCOUNT_UNLOCK)
    assert (line.staff_id, line.detail) == (admin.id, sam.username)


async def test_reactivating_an_account_unlocks_it(svc: Services) -> None:
    """Before: a reactivated account stayed locked out until its window ran out."""
    admin = await make_staff(svc, name="Ada", role=StaffRole.ADMIN)
    sam = await make_staff(svc, name="Sam")
    await set_staff_active(svc, actor=admin, staff_id=sam.id, active=False)
    for _ in range(svc.settings.login_max_failures):
        # The right password while deactivated fails, and counts.
        result = await sign_in(svc, username=sam.username, password=PASSWORD, address="10.0.0.3")
        assert result.staff is None and result.refused is None
    blocked = await sign_in(svc, username=sam.username, password=PASSWORD, address="10.0.0.3")
    assert blocked.refused == "account_at_address"
    await set_staff_active(svc, actor=admin, staff_id=sam.id, active=True)
    back = await sign_in(svc, username=sam.username, password=PASSWORD, address="10.0.0.3")
    assert back.staff is not None and back.staff.id == sam.id
    lines = await audit_lines(svc, actions.ACCOUNT_DEACTIVATE)
    lines += await audit_lines(svc, actions.ACCOUNT_REACTIVATE)
    assert [(line.action, line.staff_id, line.detail) for line in lines] == [
        ("account_deactivate", admin.id, sam.username),
        ("account_reactivate", admin.id, sam.username),
    ]


async def test_processes_sharing_redis_share_the_counters(settings: Settings) -> None:
    address = urlsplit(REDIS_URL)
    if not port_open(address.hostname or "127.0.0.1", address.port or 6379):
        missing(f"Redis at {REDIS_URL}")
    shared = replace(
        settings, broker_url=REDIS_URL, broker_channel_prefix=f"haven-test-{uuid.uuid4().hex}:"
    )
    first, second = (
        Services(
            settings=shared,
            db=Database(shared.effective_database_url),
            broker=MemoryBroker(),
            bot=build_bot(shared),
        )
        for _ in range(2)
    )
    try:
        sam = await make_staff(first, name="Sam")
        for attempt in range(shared.login_max_failures):
            process = first if attempt % 2 else second
            await sign_in(process, username=sam.username, password=WRONG, address="10.9.9.9")
        for process in (first, second):
            result = await sign_in(
                process, username=sam.username, password=PASSWORD, address="10.9.9.9"
            )
            assert result.refused == "account_at_address"
        admin = await make_staff(second, name="Ada", role=StaffRole.ADMIN)
        await unlock_account(second, actor=admin, staff_id=sam.id)
        result = await sign_in(first, username=sam.username, password=PASSWORD, address="10.9.9.9")
        assert result.staff is not None
    finally:
        for process in (first, second):
            await process.signin_limits.close()
            await process.db.dispose()


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
    assert [line.staff_id for line in await audit_lines(svc, actions.SIGN_IN)] == [sam.id] * 2
    assert [line.staff_id for line in await audit_lines(svc, actions.SIGN_OUT)] == [sam.id]


async def test_a_new_sign_in_replaces_the_session_the_browser_had(svc: Services) -> None:
    sam = await make_staff(svc, name="Sam")
    jo = await make_staff(svc, name="Jo")
    planted, _ = await start_staff_session(svc, staff_id=jo.id)
    fresh, csrf = await start_staff_session(svc, staff_id=sam.id, replaces=planted)
    assert fresh != planted and len(csrf) >= 32
    assert await staff_for_session(svc, session_id=planted) is None
    signed = await staff_for_session(svc, session_id=fresh)
    assert signed is not None and signed.staff.id == sam.id


async def test_only_admins_manage_accounts_and_one_admin_always_remains(svc: Services) -> None:
    admin = await make_staff(svc, name="Ada", role=StaffRole.ADMIN)
    lead = await make_staff(svc, name="Lead", role=StaffRole.SUPERVISOR)
    sam = await make_staff(svc, name="Sam")
    for actor in (lead, sam):
        with pytest.raises(StaffError, match="Only admins"):
            await set_staff_active(svc, actor=actor, staff_id=sam.id, active=False)
        with pytest.raises(StaffError, match="Only admins"):
            await set_role(svc, actor=actor, staff_id=sam.id, role=StaffRole.SUPERVISOR)
        with pytest.raises(StaffError, match="Only admins"):
            await reset_password(svc, actor=actor, staff_id=sam.id)
        with pytest.raises(StaffError, match="Only admins"):
            await create_staff(
                svc,
                username="newbie",
                display_name="Newbie",
                password=PASSWORD,
                role=StaffRole.COUNSELLOR,
                actor=actor,
            )
    with pytest.raises(StaffError, match="own account"):
        await set_staff_active(svc, actor=admin, staff_id=admin.id, active=False)
    with pytest.raises(StaffError, match="last active admin"):
        await set_role(svc, actor=admin, staff_id=admin.id, role=StaffRole.SUPERVISOR)

    # A second admin: now the first may step down, and is signed out by it.
    await set_role(svc, actor=admin, staff_id=sam.id, role=StaffRole.ADMIN)
    browser, _ = await start_staff_session(svc, staff_id=admin.id)
    async with recording(svc, staff_channel(admin.id)) as events:
        demoted = await set_role(svc, actor=admin, staff_id=admin.id, role=StaffRole.COUNSELLOR)
    assert demoted.role == "counsellor"
    assert events.of(StaffSignedOut) == [StaffSignedOut(staff_id=admin.id)]
    assert await staff_for_session(svc, session_id=browser) is None
    async with svc.read() as session:
        sam_now = await session.get(Staff, sam.id)
    assert sam_now is not None
    promoted = await set_role(svc, actor=sam_now, staff_id=lead.id, role=StaffRole.ADMIN)
    assert promoted.role == "admin"
    lines = await audit_lines(svc, actions.ACCOUNT_ROLE)
    assert [(line.staff_id, line.detail) for line in lines] == [
        (admin.id, f"{sam.username}: counsellor to admin"),
        (admin.id, f"{admin.username}: admin to counsellor"),
        (sam.id, f"{lead.username}: supervisor to admin"),
    ]


async def test_deactivating_signs_out_and_releases(svc: Services) -> None:
    admin = await make_staff(svc, name="Ada", role=StaffRole.ADMIN)
    sam = await make_staff(svc, name="Sam")
    browser, _ = await start_staff_session(svc, staff_id=sam.id)
    chat = await make_queued_session(svc)
    await claim_session(svc, session_id=chat.id, staff_id=sam.id)
    async with recording(svc, staff_channel(sam.id)) as events:
        await set_staff_active(svc, actor=admin, staff_id=sam.id, active=False)
    assert events.of(StaffSignedOut) == [StaffSignedOut(staff_id=sam.id)]
    assert await staff_for_session(svc, session_id=browser) is None
    assert (await sign_in(svc, username=sam.username, password=PASSWORD)).staff is None
    assert (await chat_row(svc, chat.id)).state == "queued"
    assert (await claim_session(svc, session_id=chat.id, staff_id=sam.id)).reason == "inactive"


async def test_a_reset_password_must_be_replaced_and_signs_out_everywhere(
    svc: Services,
) -> None:
    admin = await make_staff(svc, name="Ada", role=StaffRole.ADMIN)
    sam = await make_staff(svc, name="Sam")
    browser, _ = await start_staff_session(svc, staff_id=sam.id)
    chat = await make_queued_session(svc)
    await claim_session(svc, session_id=chat.id, staff_id=sam.id)
    async with recording(svc, staff_channel(sam.id)) as events:
        staff, temporary = await reset_password(svc, actor=admin, staff_id=sam.id)
    assert events.of(StaffSignedOut) == [StaffSignedOut(staff_id=sam.id)]
    assert staff.must_change_password and len(temporary) == 19
    assert await staff_for_session(svc, session_id=browser) is None
    assert (await chat_row(svc, chat.id)).state == "queued"
    assert (await sign_in(svc, username=sam.username, password=PASSWORD)).staff is None
    signed = await sign_in(svc, username=sam.username, password=temporary)
    assert signed.staff is not None and signed.staff.must_change_password

    with pytest.raises(StaffError, match="at least 10"):
        await change_password(svc, staff_id=sam.id, current=temporary, new="short")
    with pytest.raises(StaffError, match="not right"):
        await change_password(svc, staff_id=sam.id, current=WRONG, new="my own new password")
    session_id, _csrf = await change_password(
        svc, staff_id=sam.id, current=temporary, new="my own new password"
    )
    now = await staff_for_session(svc, session_id=session_id)
    assert now is not None and not now.staff.must_change_password
    assert (await sign_in(svc, username=sam.username, password=temporary)).staff is None
    assert (await sign_in(svc, username=sam.username, password="my own new password")).staff
    (reset,) = await audit_lines(svc, actions.ACCOUNT_RESET)
    (changed,) = await audit_lines(svc, actions.PASSWORD_CHANGE)
    assert (reset.staff_id, reset.detail, changed.staff_id) == (admin.id, sam.username, sam.id)
    async with svc.read() as session:
        details = (await session.execute(select(AuditEvent.detail))).scalars().all()
    assert not any(
        secret in (detail or "")
        for detail in details
        for secret in (temporary, PASSWORD, "my own new password", WRONG)
    )


async def test_accounts_created_from_the_command_line_and_by_an_admin_are_audited(
    svc: Services,
) -> None:
    first = await create_staff(
        svc, username="Root", display_name="Root", password=PASSWORD, role=StaffRole.ADMIN
    )
    made = await create_staff(
        svc,
        username="newbie",
        display_name="Newbie",
        password=PASSWORD,
        role=StaffRole.COUNSELLOR,
        actor=first,
        must_change_password=True,
    )
    with pytest.raises(StaffError, match="taken"):
        await create_staff(
            svc, username=" NEWBIE", display_name="x", password=PASSWORD, role=StaffRole.ADMIN
        )
    async with svc.read() as session:
        stored = await session.get(Staff, made.id)
    assert stored is not None and stored.must_change_password
    lines = await audit_lines(svc, actions.ACCOUNT_CREATE)
    assert [(line.staff_id, line.detail) for line in lines] == [
        (None, "root (admin) from the command line"),
        (first.id, "newbie (counsellor)"),
    ]


async def test_a_known_browser_is_never_slowed_by_strangers_failures(svc: Services) -> None:
    quick_slow_down(svc)
    sam = await make_staff(svc, name="Sam")
    jo = await make_staff(svc, name="Jo")
    for n in range(svc.settings.login_account_free_failures + 2):
        await sign_in(svc, username=sam.username, password=WRONG, address=f"203.0.113.{n}")
    limits = svc.signin_limits
    known = limits.device_token(sam.username)  # issued at an earlier sign-in
    stranger = await sign_in(svc, username=sam.username, password=PASSWORD, address="10.0.0.8")
    assert stranger.staff is not None and stranger.delayed_s > 0
    mine = await sign_in(
        svc, username=sam.username, password=PASSWORD, address="10.0.0.9", device=known
    )
    assert mine.staff is not None and mine.delayed_s == 0
    # The cookie is Sam's alone, and cannot be made up.
    assert limits.recognises(known, sam.username)
    assert not limits.recognises(known, jo.username)
    assert not limits.recognises(known + "x", sam.username)
    assert not limits.recognises("anything", sam.username)
