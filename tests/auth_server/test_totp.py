"""TOTP (RFC 6238): a code is accepted within one step of drift and never twice, across instances via Redis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from cryptography.exceptions import InvalidTag

from audit.trail import platform_units
from auth_server.mfa import service as mfa
from auth_server.mfa.errors import EnrolmentCodeRejected
from auth_server.mfa.replay import DatabaseOnlyGuard, RedisReplayGuard, ReplayGuard
from obank.crypto import unseal
from obank.runtime import Platform
from tests.auth_server.helpers import TEST_ACTOR, code_at, enrol, new_login

STEP = timedelta(seconds=30)


async def _verify(
    platform: Platform, identity_id: uuid.UUID, code: str, now: datetime, guard: ReplayGuard | None = None
) -> bool:
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        return await mfa.verify_totp(uow, identity_id, code, guard or DatabaseOnlyGuard(), now=now)


async def test_a_code_is_refused_the_second_time_even_inside_its_window(platform: Platform) -> None:
    identity = await new_login(platform)
    secret, _ = await enrol(platform, identity)
    now = datetime.now(UTC)
    code = code_at(secret, now)
    assert await _verify(platform, identity.id, code, now)
    assert not await _verify(platform, identity.id, code, now)
    assert not await _verify(platform, identity.id, code, now + STEP)  # still inside the ±1 window


async def test_drift_of_one_step_is_accepted_but_never_an_older_step_than_the_last(platform: Platform) -> None:
    identity = await new_login(platform)
    secret, _ = await enrol(platform, identity)
    now = datetime.now(UTC)
    assert not await _verify(platform, identity.id, code_at(secret, now + 2 * STEP), now)  # too far ahead
    assert await _verify(platform, identity.id, code_at(secret, now + STEP), now)  # the phone runs fast
    assert not await _verify(platform, identity.id, code_at(secret, now), now)  # older than the last one used
    assert not await _verify(platform, identity.id, "12345", now)


async def test_a_step_claimed_by_another_instance_through_redis_is_refused(platform: Platform, redis_url: str) -> None:
    identity = await new_login(platform)
    secret, _ = await enrol(platform, identity)
    now = datetime.now(UTC)
    code = code_at(secret, now)
    step = int(now.timestamp()) // 30
    other_instance = RedisReplayGuard(redis_url)
    assert await other_instance.claim(identity.id, step)  # another gateway accepted this code first
    assert not await _verify(platform, identity.id, code, now, RedisReplayGuard(redis_url))
    next_step = now + STEP
    assert await _verify(platform, identity.id, code_at(secret, next_step), next_step, RedisReplayGuard(redis_url))
    assert not await other_instance.claim(identity.id, step + 1)


async def test_enrolment_needs_a_valid_code_and_seals_the_secret(platform: Platform, database_url: str) -> None:
    identity = await new_login(platform, "totp.owner")
    now = datetime.now(UTC)
    units = platform_units(platform)
    async with units.begin(TEST_ACTOR) as uow:
        enrolment = await mfa.begin_enrolment(uow, identity.id, "totp.owner")
        again = await mfa.begin_enrolment(uow, identity.id, "totp.owner")
    assert again.secret == enrolment.secret  # reloading the page keeps the QR code already scanned
    assert enrolment.provisioning_uri.startswith("otpauth://totp/obank:")
    assert enrolment.qr_svg.startswith("<svg") and "<script" not in enrolment.qr_svg
    wrong = f"{(int(code_at(enrolment.secret, now)) + 7) % 1_000_000:06d}"
    async with units.begin(TEST_ACTOR) as uow:
        with pytest.raises(EnrolmentCodeRejected):
            await mfa.confirm_enrolment(uow, identity.id, wrong, DatabaseOnlyGuard(), now=now)
    async with units.begin(TEST_ACTOR) as uow:
        assert not await mfa.is_enrolled(uow.session, identity.id)
        codes = await mfa.confirm_enrolment(
            uow, identity.id, code_at(enrolment.secret, now), DatabaseOnlyGuard(), now=now
        )
        assert await mfa.is_enrolled(uow.session, identity.id)
    assert len(codes) == len(set(codes)) == 10
    with psycopg.connect(database_url) as conn:
        sealed = conn.execute("SELECT secret_sealed FROM auth_server.totp_credentials").fetchone()
    assert sealed is not None
    assert enrolment.secret.encode() not in bytes(sealed[0])
    assert unseal(platform.keyring, identity.id, "totp-secret", bytes(sealed[0])).decode() == enrolment.secret
    other = uuid.uuid4()
    with pytest.raises(InvalidTag):
        unseal(platform.keyring, other, "totp-secret", bytes(sealed[0]))  # bound to its identity
