"""Lockout: repeated failures of password or second factor pause sign-in for a growing delay; unlocking is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import psycopg

from audit.trail import platform_units
from auth_server.identities import service as identities
from auth_server.identities.schemas import IdentityKind, IdentityRecord
from auth_server.identities.service import (
    LOCKOUT_BASE_DELAY,
    LOCKOUT_MAX_DELAY,
    LOCKOUT_THRESHOLD,
    PasswordVerdict,
    lockout_delay,
)
from auth_server.login import service as login
from auth_server.mfa.replay import DatabaseOnlyGuard
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.auth_server.helpers import PASSWORD, TEST_ACTOR, code_at, enrol, new_login


async def _check(platform: Platform, username: str, password: str, now: datetime) -> identities.PasswordCheck:
    """A bare password check (no sign-in, no events)."""
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        return await identities.check_password(
            uow, kind=IdentityKind.CUSTOMER, username=username, password=password, now=now
        )


def test_the_delay_doubles_from_the_threshold_up_to_the_maximum() -> None:
    assert [lockout_delay(n) for n in range(LOCKOUT_THRESHOLD)] == [None] * LOCKOUT_THRESHOLD
    delays = [lockout_delay(n) for n in range(LOCKOUT_THRESHOLD, LOCKOUT_THRESHOLD + 12)]
    assert delays[:4] == [LOCKOUT_BASE_DELAY * f for f in (1, 2, 4, 8)]
    assert delays[-1] == LOCKOUT_MAX_DELAY
    assert all(a is not None and b is not None and a <= b for a, b in pairwise(delays))


async def _attempt(platform: Platform, username: str, password: str, now: datetime) -> IdentityRecord | None:
    """One sign-in through the login service; returns the identity as it stands after a refusal."""
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        outcome = await login.sign_in_with_password(
            uow,
            kind=IdentityKind.CUSTOMER,
            username=username,
            password=password,
            require_sca=False,
            return_to=None,
            previous_session=None,
            ip_address="198.51.100.4",
            now=now,
        )
        if outcome.issued is not None:
            return None
        return await identities.find_identity(uow, IdentityKind.CUSTOMER, username)


async def test_repeated_wrong_passwords_lock_with_a_growing_delay(platform: Platform, database_url: str) -> None:
    await new_login(platform, "locky")
    start = datetime.now(UTC)
    for attempt in range(1, LOCKOUT_THRESHOLD):
        refused = await _attempt(platform, "locky", "wrong password!", start)
        assert refused is not None and refused.locked_until is None, attempt
    locked = await _attempt(platform, "locky", "wrong password!", start)
    assert locked is not None and locked.locked_until == start + LOCKOUT_BASE_DELAY

    # While locked even the right password is refused, and attempts do not extend the lock.
    during = await _attempt(platform, "locky", PASSWORD, start + LOCKOUT_BASE_DELAY / 2)
    assert during is not None and during.failed_login_attempts == LOCKOUT_THRESHOLD
    assert during.locked_until == start + LOCKOUT_BASE_DELAY

    after_first = start + LOCKOUT_BASE_DELAY + timedelta(seconds=1)
    second = await _attempt(platform, "locky", "wrong again!!", after_first)
    assert second is not None and second.locked_until == after_first + 2 * LOCKOUT_BASE_DELAY
    after_second = after_first + 2 * LOCKOUT_BASE_DELAY + timedelta(seconds=1)
    third = await _attempt(platform, "locky", "wrong again!!", after_second)
    assert third is not None and third.locked_until == after_second + 4 * LOCKOUT_BASE_DELAY

    # Once the lock has expired the right password works, and completing sign-in clears the count.
    assert await _attempt(platform, "locky", PASSWORD, after_second + 4 * LOCKOUT_BASE_DELAY) is None
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT failed_login_attempts, locked_until FROM auth_server.identities").fetchone()
        events = [r[0] for r in conn.execute("SELECT event_type FROM platform.outbox_events ORDER BY position")]
        audited = [r[0] for r in conn.execute("SELECT action FROM audit.audit_records ORDER BY sequence")]
    assert row == (0, None)
    assert events.count("identity.locked") == 3
    assert events.count("login.failed") == LOCKOUT_THRESHOLD + 3  # the refusal while locked is recorded too
    assert events[-1] == "login.succeeded"
    assert audited == events  # each event has its audit record


async def test_wrong_totp_codes_count_towards_lockout_and_end_the_pending_session(platform: Platform) -> None:
    identity = await new_login(platform, "otp.guesser")
    secret, _ = await enrol(platform, identity)
    now = datetime.now(UTC)
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        outcome = await login.sign_in_with_password(
            uow,
            kind=IdentityKind.CUSTOMER,
            username="otp.guesser",
            password=PASSWORD,
            require_sca=True,
            return_to=None,
            previous_session=None,
            ip_address=None,
            now=now,
        )
    assert outcome.issued is not None
    pending = outcome.issued.record
    right = code_at(secret, now)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for attempt in range(1, LOCKOUT_THRESHOLD + 1):
        async with platform_units(platform).begin(TEST_ACTOR) as uow:
            result = await login.complete_with_totp(
                uow,
                pending=pending,
                code=wrong,
                guard=DatabaseOnlyGuard(),
                ip_address=None,
                now=now,
            )
        assert result.issued is None
        assert result.session_ended is (attempt == LOCKOUT_THRESHOLD)
    async with unit_of_work(platform.sessions) as session:
        locked = await identities.get_identity(session, identity.id)
    assert locked.is_locked(now)


async def test_unlocking_clears_the_lock_and_is_audited(platform: Platform, database_url: str) -> None:
    identity = await new_login(platform, "unlock.me")
    now = datetime.now(UTC)
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE auth_server.identities SET failed_login_attempts = 9, locked_until = %s", (now + LOCKOUT_MAX_DELAY,)
        )
    assert (await _check(platform, "unlock.me", PASSWORD, now)).verdict is PasswordVerdict.LOCKED
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        unlocked = await identities.unlock(uow, identity.id, now=now)
    assert not unlocked.is_locked(now) and unlocked.failed_login_attempts == 0
    assert (await _check(platform, "unlock.me", PASSWORD, now)).verdict is PasswordVerdict.ACCEPTED
    with psycopg.connect(database_url) as conn:
        audited = conn.execute(
            "SELECT actor_kind, actor_id, entity_id FROM audit.audit_records WHERE action = 'identity.unlocked'"
        ).fetchall()
    assert audited == [("system", "tests", str(identity.id))]
