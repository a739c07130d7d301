"""Consents that end in core banking (the TPP's DELETE, expiry) end the grants bound to them, through the events
the outbox relay hands to `bank.jobs.consumer_registry`'s consumers."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from auth_server.oauth.config import INTROSPECTION_PATH, TOKEN_PATH
from auth_server.oauth.grants import service as grants_service
from auth_server.oauth.grants.consumers import CONSENT_END_CONSUMER
from auth_server.oauth.grants.models import GrantStatus
from auth_server.oauth.grants.service import GrantRecord
from auth_server.oauth.tokens.models import IssuedToken, TokenKind
from bank.jobs import consumer_registry
from core_banking import facade as core_banking
from core_banking.jobs import lapse_consents
from obank.database import unit_of_work
from obank.outbox.models import OutboxEvent
from obank.outbox.record import Event
from obank.runtime import Platform
from obank.topics import CONSENT_EXPIRED, CONSENT_REVOKED, CONSENTS_TOPIC, GRANT_REVOKED, GRANTS_TOPIC
from tests.auth_server.oauth.conftest import RegisterClient, RegisteredClient, RunningAS, assertion_form
from tests.auth_server.oauth.flow import (
    approve,
    code_form,
    funds_consent,
    get_consent,
    in_process,
    new_enrolled_customer,
    push,
    relay_events,
)

FUNDS_SCOPES = "openid accounts payments fundsconfirmations"


@dataclasses.dataclass(frozen=True)
class Authorised:
    client: RegisteredClient
    consent: core_banking.ConsentRecord
    grant: GrantRecord
    tokens: dict[str, Any]


async def _authorised(
    running: RunningAS, register_client: RegisterClient, platform: Platform, consent_kind: str
) -> Authorised:
    """A customer approved the consent; the TPP holds an access token and a refresh token for it."""
    client = await register_client(grant_types=("authorization_code", "refresh_token"), scope=FUNDS_SCOPES)
    customer = await new_enrolled_customer(platform)
    expires = datetime.now(UTC) + timedelta(days=30)
    if consent_kind == "funds":
        consent = await funds_consent(platform, client.client_id, customer.account_ids[0], expires_at=expires)
    else:
        details = core_banking.AccountAccessDetails(
            permissions=(core_banking.Permission.READ_BALANCES,), expires_at=expires
        )
        consent = await in_process(platform).create_account_access_consent(client.client_id, details)
    pushed = await push(running, client, consent=consent)
    _, _, params = await approve(running, client, pushed, customer)
    response = await running.http().post(TOKEN_PATH, data=code_form(client, running, params["code"], pushed.verifier))
    assert response.status_code == 200, response.text
    async with unit_of_work(platform.sessions) as session:
        (grant,) = [g for g in await grants_service.list_customer_grants(session, customer.customer_id) if g.consent_id]
    return Authorised(client, consent, grant, response.json())


async def _refresh(running: RunningAS, authorised: Authorised) -> Any:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": authorised.tokens["refresh_token"],
        **assertion_form(authorised.client, running.issuer),
    }
    return await running.http().post(TOKEN_PATH, data=form)


async def _introspect(running: RunningAS, authorised: Authorised, token: str) -> Any:
    form = {"token": token, **assertion_form(authorised.client, running.issuer)}
    return (await running.http().post(INTROSPECTION_PATH, data=form)).json()


async def _grant_events(platform: Platform, grant_id: uuid.UUID) -> list[OutboxEvent]:
    async with unit_of_work(platform.sessions) as session:
        statement = select(OutboxEvent).where(OutboxEvent.topic == GRANTS_TOPIC, OutboxEvent.key == str(grant_id))
        return list((await session.scalars(statement.order_by(OutboxEvent.position))).all())


async def _tokens(platform: Platform, grant_id: uuid.UUID) -> list[IssuedToken]:
    async with unit_of_work(platform.sessions) as session:
        return list((await session.scalars(select(IssuedToken).where(IssuedToken.grant_id == grant_id))).all())


async def test_a_consent_the_tpp_deletes_ends_its_grant_and_its_refresh_token(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    authorised = await _authorised(full_server, register_client, shared_platform, "funds")
    assert (await _refresh(full_server, authorised)).status_code == 200

    await in_process(shared_platform).withdraw_consent(authorised.consent.id, client_id=authorised.client.client_id)
    await relay_events(shared_platform)

    async with unit_of_work(shared_platform.sessions) as session:
        grant = await grants_service.get_grant(session, authorised.grant.id)
    assert grant.status is GrantStatus.REVOKED and grant.revoked_at is not None
    refreshed = await _refresh(full_server, authorised)
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant", refreshed.text
    assert await _introspect(full_server, authorised, authorised.tokens["refresh_token"]) == {"active": False}
    tokens = await _tokens(shared_platform, authorised.grant.id)
    assert {t.kind for t in tokens} == {TokenKind.ACCESS, TokenKind.REFRESH}
    assert {t.revocation_reason for t in tokens} == {"consent_revoked"}
    claims = await full_server.server.tokens.verify_access_token(authorised.tokens["access_token"])
    for entry in (f"grant:{grant.id}", f"jti:{claims['jti']}", f"consent:{authorised.consent.id}"):
        assert await shared_platform.revocations.first_revoked([entry]) == entry
    (event,) = [e for e in await _grant_events(shared_platform, grant.id) if e.event_type == GRANT_REVOKED]
    assert event.payload["reason"] == "consent_revoked"
    assert (event.payload["actor_kind"], event.payload["actor_id"]) == ("client", authorised.client.client_id)
    # The grant's own event comes back to core banking, which leaves the TPP's revocation as it is.
    consent = await get_consent(shared_platform, authorised.consent.id)
    assert consent.status is core_banking.ConsentStatus.REVOKED and consent.revoked_by is core_banking.RevokedBy.CLIENT


async def test_an_expired_consent_ends_its_grant(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    authorised = await _authorised(full_server, register_client, shared_platform, "access")

    # Core banking's lapse job, run as if its expiry had come: it writes `consent.expired`.
    assert await lapse_consents(shared_platform, now=datetime.now(UTC) + timedelta(days=31)) >= 1
    await relay_events(shared_platform)

    async with unit_of_work(shared_platform.sessions) as session:
        expired = (
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.topic == CONSENTS_TOPIC, OutboxEvent.key == authorised.consent.id)
                .order_by(OutboxEvent.position)  # publication order: a bare scan's order is no order at all
            )
        ).all()
        grant = await grants_service.get_grant(session, authorised.grant.id)
    assert [e.event_type for e in expired][-1] == CONSENT_EXPIRED
    assert grant.status is GrantStatus.REVOKED
    refreshed = await _refresh(full_server, authorised)
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant", refreshed.text
    assert {t.revocation_reason for t in await _tokens(shared_platform, grant.id)} == {"consent_expired"}
    (event,) = [e for e in await _grant_events(shared_platform, grant.id) if e.event_type == GRANT_REVOKED]
    assert (event.payload["reason"], event.payload["actor_kind"]) == ("consent_expired", "system")


async def test_the_consumer_ends_a_grant_once_and_only_its_clients_grant(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    authorised = await _authorised(full_server, register_client, shared_platform, "funds")
    (consumer,) = [c for c in consumer_registry(shared_platform) if c.name == CONSENT_END_CONSUMER]
    assert consumer.topics == (CONSENTS_TOPIC,)
    revoked = {
        "consent_id": authorised.consent.id,
        "client_id": authorised.client.client_id,
        "status": "Revoked",
        "revoked_by": "client",
    }

    def event(event_type: str, **payload: Any) -> Event:
        return Event(
            event_id=uuid.uuid4(),
            topic=CONSENTS_TOPIC,
            event_type=event_type,
            key=authorised.consent.id,
            payload={**revoked, **payload},
            correlation_id=str(uuid.uuid4()),
        )

    async def deliver(delivered: Event) -> None:
        async with shared_platform.sessions() as session, session.begin():
            await consumer.handler(session, delivered)

    await deliver(event("consent.authorised"))  # not an end
    await deliver(event(CONSENT_REVOKED, client_id="another-client"))  # a grant is its own client's consent's
    async with unit_of_work(shared_platform.sessions) as session:
        assert (await grants_service.get_grant(session, authorised.grant.id)).status is GrantStatus.ACTIVE
    assert (await _refresh(full_server, authorised)).status_code == 200

    await deliver(event(CONSENT_REVOKED))
    await deliver(event(CONSENT_REVOKED))  # delivered again (at least once): nothing more happens
    await deliver(event(CONSENT_EXPIRED))

    events = await _grant_events(shared_platform, authorised.grant.id)
    assert [e.event_type for e in events].count(GRANT_REVOKED) == 1
    assert (await _refresh(full_server, authorised)).json()["error"] == "invalid_grant"


async def test_no_token_is_issued_under_an_ended_consent_before_its_event_arrives(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    authorised = await _authorised(full_server, register_client, shared_platform, "funds")
    # Core banking in this process, as `obank serve` runs it: the revoking process denies the consent at once.
    platform = shared_platform
    facade = core_banking.InProcessCoreBanking(platform.sessions, platform.keyring, platform.revocations)

    await facade.withdraw_consent(authorised.consent.id, client_id=authorised.client.client_id)

    async with unit_of_work(shared_platform.sessions) as session:
        assert (await grants_service.get_grant(session, authorised.grant.id)).status is GrantStatus.ACTIVE
    refreshed = await _refresh(full_server, authorised)
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant", refreshed.text
