"""Revocations reach the deny-list at once (before the commit), durably in its table, and every other process."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from audit.trail import platform_units
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.config import CLOCK_SKEW_S, OAuthConfig
from auth_server.oauth.grants import service as grants_service
from auth_server.oauth.server import OAuthServer
from auth_server.oauth.tokens import repository as tokens_repository
from auth_server.oauth.tokens.models import SubjectKind
from auth_server.oauth.tokens.service import TOKEN_REVOCATIONS_TOPIC
from obank.actor import Actor
from obank.database import unit_of_work
from obank.outbox.models import OutboxEvent
from obank.revocation import KEY_PREFIX, purge_expired, record_revocations
from obank.runtime import Platform, build_platform
from obank.settings import Settings
from tests.auth_server.oauth.conftest import registrar

THUMBPRINT = "q" * 43
TEST_ACTOR = Actor.system("test")
ISSUER = "https://as.test"


@pytest.fixture(params=["memory", "redis"])
async def deny_platform(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Platform]:
    """A platform whose deny-list is this process's memory, or a real Redis."""
    if request.param == "redis":
        settings = settings.model_copy(update={"redis_url": request.getfixturevalue("redis_url")})
    platform = build_platform(settings)
    yield platform
    await platform.close()


@pytest.fixture
async def oauth(deny_platform: Platform) -> AsyncIterator[OAuthServer]:
    server = OAuthServer.build(deny_platform, config=OAuthConfig(issuer=ISSUER))
    yield server
    await server.close()


async def _issue(
    platform: Platform, server: OAuthServer, client_id: str, *, grant_id: uuid.UUID | None = None
) -> tuple[uuid.UUID, datetime]:
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        client = await clients_service.get_client(uow.session, client_id)
        issued = await server.tokens.issue_access_token(
            uow,
            client=client,
            grant_type="authorization_code" if grant_id else "client_credentials",
            subject=client_id,
            subject_kind=SubjectKind.CLIENT,
            scopes=["accounts"],
            certificate_thumbprint=THUMBPRINT,
            grant_id=grant_id,
        )
    return issued.jti, issued.expires_at


async def _grant(platform: Platform, client_id: str, consent_id: str | None) -> grants_service.GrantRecord:
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        return await grants_service.record_grant(
            uow,
            subject=uuid.uuid4(),
            customer_id=uuid.uuid4(),
            client_id=client_id,
            scopes=["openid", "accounts"],
            authorization_details=None,
            consent_id=consent_id,
            account_ids=[uuid.uuid4()],
            expires_at=None,
        )


async def _redis_expiry(platform: Platform, identifier: str) -> int:
    """When Redis drops a deny-list entry (Unix seconds)."""
    assert platform.settings.redis_url is not None
    redis = Redis.from_url(platform.settings.redis_url)
    try:
        return int(await redis.expiretime(KEY_PREFIX + identifier))
    finally:
        await redis.aclose()


async def test_revoked_access_tokens_are_denied_until_they_expire_and_published(
    deny_platform: Platform, oauth: OAuthServer
) -> None:
    client = await registrar(deny_platform)()
    revoked_jti, expires_at = await _issue(deny_platform, oauth, client.client_id)
    kept_jti, _ = await _issue(deny_platform, oauth, client.client_id)

    async with platform_units(deny_platform).begin(TEST_ACTOR) as uow:
        revoked = await oauth.tokens.revoke_tokens(
            uow, Actor.client(client.client_id), ids=[revoked_jti], reason="revoked_by_client"
        )

    assert revoked == [revoked_jti]
    denials = deny_platform.revocations
    assert await denials.first_revoked([f"jti:{kept_jti}", f"jti:{revoked_jti}"]) == f"jti:{revoked_jti}"
    assert await denials.first_revoked([f"jti:{kept_jti}"]) is None
    denied_until = expires_at + timedelta(seconds=CLOCK_SKEW_S)
    if deny_platform.settings.redis_url:
        assert abs(await _redis_expiry(deny_platform, f"jti:{revoked_jti}") - denied_until.timestamp()) <= 1
    async with unit_of_work(deny_platform.sessions) as session:
        event = (await session.scalars(select(OutboxEvent).where(OutboxEvent.topic == TOKEN_REVOCATIONS_TOPIC))).one()
    assert event.event_type == "token.revoked"
    assert event.payload["access_token_jtis"] == [str(revoked_jti)]
    assert datetime.fromisoformat(event.payload["denied_until"]) == denied_until


async def test_the_denial_is_written_before_the_commit_so_a_failed_commit_leaves_it(
    deny_platform: Platform, oauth: OAuthServer
) -> None:
    client = await registrar(deny_platform)()
    jti, _ = await _issue(deny_platform, oauth, client.client_id)

    async def revoke_then_fail() -> None:
        async with platform_units(deny_platform).begin(TEST_ACTOR) as uow:
            await oauth.tokens.revoke_tokens(uow, Actor.client(client.client_id), ids=[jti], reason="test")
            raise RuntimeError("commit failed")

    with pytest.raises(RuntimeError, match="commit failed"):
        await revoke_then_fail()

    # The revocation rolled back, but the gateway refuses the token anyway: an extra denial, never a missing one.
    assert await deny_platform.revocations.first_revoked([f"jti:{jti}"]) == f"jti:{jti}"
    async with unit_of_work(deny_platform.sessions) as session:
        row = await tokens_repository.get(session, jti)
        assert row is not None and row.revoked_at is None
        assert not (await session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "token.revoked"))).all()


async def test_revoking_a_grant_denies_the_grant_its_consent_and_its_access_tokens(
    deny_platform: Platform, oauth: OAuthServer
) -> None:
    client = await registrar(deny_platform)()
    consent_id = f"aac-{uuid.uuid4()}"
    grant = await _grant(deny_platform, client.client_id, consent_id)
    other = await _grant(deny_platform, client.client_id, None)
    jti, _ = await _issue(deny_platform, oauth, client.client_id, grant_id=grant.id)
    before = datetime.now(UTC)

    async with platform_units(deny_platform).begin(TEST_ACTOR) as uow:
        await grants_service.revoke_grant(uow, oauth.tokens, grant_id=grant.id, subject=grant.subject)

    denials = deny_platform.revocations
    for identifier in (f"grant:{grant.id}", f"consent:{consent_id}", f"jti:{jti}"):
        assert await denials.first_revoked([identifier]) == identifier
    assert await denials.first_revoked([f"grant:{other.id}"]) is None
    if deny_platform.settings.redis_url:
        lifetime = oauth.config.access_token_lifetime_s + CLOCK_SKEW_S
        expiry = await _redis_expiry(deny_platform, f"grant:{grant.id}")
        assert before.timestamp() + lifetime - 1 <= expiry <= datetime.now(UTC).timestamp() + lifetime + 2


@pytest.mark.parametrize("started", ["before", "after"])
async def test_another_process_learns_the_denials_from_the_table(platform: Platform, started: str) -> None:
    # A gateway process of its own: it shares only the database (no memory, no Redis) with the revoking one.
    oauth = OAuthServer.build(platform, config=OAuthConfig(issuer=ISSUER))
    gateway = build_platform(platform.settings.model_copy(update={"redis_url": None}), platform.database_url)
    try:
        if started == "before":
            await gateway.start()  # learns by the table's notifications
        client = await registrar(platform)()
        consent_id = f"dpc-{uuid.uuid4()}"
        grant = await _grant(platform, client.client_id, consent_id)
        grant_jti, _ = await _issue(platform, oauth, client.client_id, grant_id=grant.id)
        client_jti, _ = await _issue(platform, oauth, client.client_id)
        kept_jti, _ = await _issue(platform, oauth, client.client_id)
        async with platform_units(platform).begin(TEST_ACTOR) as uow:
            await grants_service.revoke_grant(uow, oauth.tokens, grant_id=grant.id, subject=grant.subject)
            await oauth.tokens.revoke_tokens(uow, Actor.client(client.client_id), ids=[client_jti], reason="t")
        identifiers = [f"grant:{grant.id}", f"consent:{consent_id}", f"jti:{grant_jti}", f"jti:{client_jti}"]
        if started == "after":
            await gateway.start()  # learns by loading the table
        for identifier in identifiers:
            assert await _eventually_denied(gateway, identifier)
        assert await gateway.revocations.first_revoked([f"jti:{kept_jti}"]) is None
    finally:
        await gateway.close()
        await oauth.close()


async def test_a_flushed_redis_forgets_nothing(settings: Settings, redis_url: str) -> None:
    platform = build_platform(settings.model_copy(update={"redis_url": redis_url}))
    oauth = OAuthServer.build(platform, config=OAuthConfig(issuer=ISSUER))
    try:
        client = await registrar(platform)()
        jti, _ = await _issue(platform, oauth, client.client_id)
        async with platform_units(platform).begin(TEST_ACTOR) as uow:
            await oauth.tokens.revoke_tokens(uow, Actor.client(client.client_id), ids=[jti], reason="t")
        redis = Redis.from_url(redis_url)
        await redis.flushall()
        await redis.aclose()
        restarted = build_platform(platform.settings, platform.database_url)
        try:
            assert await restarted.revocations.first_revoked([f"jti:{jti}"]) == f"jti:{jti}"
        finally:
            await restarted.close()
    finally:
        await oauth.close()
        await platform.close()


async def test_spent_denials_are_purged(platform: Platform) -> None:
    now = datetime.now(UTC)
    async with unit_of_work(platform.sessions) as session:
        await record_revocations(session, ["jti:spent"], now - timedelta(seconds=1))
        await record_revocations(session, ["jti:live"], now + timedelta(minutes=5))
    async with unit_of_work(platform.sessions) as session:
        assert await purge_expired(session, now) == 1
    assert await platform.revocations.first_revoked(["jti:live"]) == "jti:live"
    assert await platform.revocations.first_revoked(["jti:spent"]) is None


async def _eventually_denied(platform: Platform, identifier: str) -> bool:
    for _ in range(100):
        if await platform.revocations.first_revoked([identifier]) == identifier:
            return True
        await asyncio.sleep(0.02)
    return False


async def test_concurrent_first_questions_all_wait_for_the_table(platform: Platform) -> None:
    async with unit_of_work(platform.sessions) as session:
        await record_revocations(session, ["jti:early"], datetime.now(UTC) + timedelta(minutes=5))
    fresh = build_platform(platform.settings.model_copy(update={"redis_url": None}), platform.database_url)
    try:
        # Neither request may be answered from a mirror that is still loading.
        answers = await asyncio.gather(*(fresh.revocations.first_revoked(["jti:early"]) for _ in range(5)))
        assert answers == ["jti:early"] * 5
    finally:
        await fresh.close()
