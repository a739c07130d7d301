"""`GET /api/v1/consents` and `DELETE /api/v1/consents/{grant_id}`: a customer's grants, as problem+json on error."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey
from sqlalchemy import select

from audit.models import AuditRecord
from audit.trail import platform_units
from auth_server.identities import service as identities
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.grants import service as grants_service
from auth_server.oauth.grants.models import GrantStatus
from auth_server.oauth.tokens import repository as tokens_repository
from auth_server.oauth.tokens.models import SubjectKind
from core_banking import facade as core_banking
from core_banking.consents.consumers import consent_withdrawal_consumer
from obank.database import unit_of_work
from obank.outbox.consumers import apply_once
from obank.outbox.models import OutboxEvent
from obank.outbox.repository import to_event
from obank.principal import PRINCIPAL_HEADER, InternalAssertions, Principal, PrincipalKind
from obank.runtime import Platform
from tests.auth_server.helpers import TEST_ACTOR
from tests.auth_server.oauth.conftest import RegisterClient, RunningAS
from tests.auth_server.oauth.flow import access_consent, in_process, new_enrolled_customer

CONSENTS = "/api/v1/consents"
INTERACTION_ID = "3f2a1c9e-4b5d-4e6f-8a7b-1c2d3e4f5a6b"


@dataclass(frozen=True)
class Holder:
    """A customer with a login, an authorised account access consent, and the grant recording it."""

    login_id: uuid.UUID
    customer_id: uuid.UUID
    consent_id: str
    grant: grants_service.GrantRecord
    access_token_jti: uuid.UUID


@pytest.fixture
async def api(auth_server: RunningAS) -> AsyncIterator[httpx.AsyncClient]:
    """The OAuth app as the gateway reaches it: in-process, the principal in an internal assertion."""
    transport = httpx.ASGITransport(app=auth_server.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://bank.test") as client:
        yield client


def _as(
    running: RunningAS, subject: uuid.UUID | str, kind: PrincipalKind = "customer", audience: str = "auth_server"
) -> dict[str, str]:
    principal = Principal(subject=str(subject), kind=kind, interaction_id=INTERACTION_ID, session_id="session-1")
    return {PRINCIPAL_HEADER: running.app.state.internal_assertions.sign(principal, audience)}


async def _holder(platform: Platform, running: RunningAS, client_id: str) -> Holder:
    customer = await new_enrolled_customer(platform)
    consent = await access_consent(platform, client_id)
    await in_process(platform).authorise_consent(
        consent.id, customer_id=customer.customer_id, account_ids=[customer.account_ids[0]]
    )
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        login = await identities.find_by_customer(uow.session, customer.customer_id)
        assert login is not None
        grant = await grants_service.record_grant(
            uow,
            subject=login.id,
            customer_id=customer.customer_id,
            client_id=client_id,
            scopes=["openid", "accounts"],
            authorization_details=[{"type": "account_information", "consent_id": consent.id}],
            consent_id=consent.id,
            account_ids=[customer.account_ids[0]],
            expires_at=datetime.now(UTC) + timedelta(days=90),
        )
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        issued = await running.server.tokens.issue_access_token(
            uow,
            client=await clients_service.get_client(uow.session, client_id),
            grant_type="authorization_code",
            subject=str(login.id),
            subject_kind=SubjectKind.CUSTOMER,
            scopes=["openid", "accounts"],
            certificate_thumbprint="q" * 43,
            consent_id=consent.id,
            grant_id=grant.id,
        )
    return Holder(login.id, customer.customer_id, consent.id, grant, issued.jti)


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code and body["type"] == f"urn:obank:problem:{code}"
    assert body["title"] and "correlation_id" in body
    return body


async def test_a_customer_lists_their_own_consents_newest_first(
    api: httpx.AsyncClient, auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client(client_name="Budget Buddy")
    holder = await _holder(shared_platform, auth_server, client.client_id)
    earlier = datetime.now(UTC) - timedelta(days=30)
    async with platform_units(shared_platform).begin(TEST_ACTOR) as uow:
        lapsed = await grants_service.record_grant(
            uow,
            subject=holder.login_id,
            customer_id=holder.customer_id,
            client_id=client.client_id,
            scopes=["openid"],
            authorization_details=None,
            consent_id=None,
            account_ids=[],
            expires_at=earlier + timedelta(days=1),
            now=earlier,
        )
    stranger = await _holder(shared_platform, auth_server, client.client_id)

    response = await api.get(CONSENTS, headers=_as(auth_server, holder.customer_id))

    assert response.status_code == 200, response.text
    consents = response.json()["consents"]
    assert [c["grant_id"] for c in consents] == [str(holder.grant.id), str(lapsed.id)]
    assert str(stranger.grant.id) not in response.text
    current, old = consents
    assert current["client_id"] == client.client_id
    assert current["client_name"] == "Budget Buddy"
    assert current["scopes"] == ["openid", "accounts"]
    assert current["authorization_details"] == [{"type": "account_information", "consent_id": holder.consent_id}]
    assert current["consent_id"] == holder.consent_id
    assert current["account_ids"] == [str(a) for a in holder.grant.account_ids]
    assert current["status"] == "ACTIVE"
    assert datetime.fromisoformat(current["created_at"]) == holder.grant.created_at
    assert datetime.fromisoformat(current["expires_at"]) == holder.grant.expires_at
    assert current["revoked_at"] is None
    assert old["status"] == "EXPIRED"


async def test_revoking_a_consent_ends_its_tokens_and_bank_consent_and_tells_the_gateway(
    api: httpx.AsyncClient, auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    holder = await _holder(shared_platform, auth_server, client.client_id)
    headers = _as(auth_server, holder.customer_id)

    response = await api.delete(f"{CONSENTS}/{holder.grant.id}", headers=headers)
    again = await api.delete(f"{CONSENTS}/{holder.grant.id}", headers=headers)

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert again.status_code == 204  # withdrawing a withdrawn consent changes nothing
    listed = (await api.get(CONSENTS, headers=headers)).json()["consents"]
    assert listed[0]["status"] == "REVOKED" and listed[0]["revoked_at"] is not None
    async with unit_of_work(shared_platform.sessions) as session:
        grant = await grants_service.get_grant(session, holder.grant.id)
        token = await tokens_repository.get(session, holder.access_token_jti)
        events = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.key == str(holder.grant.id)).order_by(OutboxEvent.position)
            )
        ).all()
        audits = (
            await session.scalars(
                select(AuditRecord).where(
                    AuditRecord.action == "grant.revoked", AuditRecord.entity_id == str(holder.grant.id)
                )
            )
        ).all()
    assert grant.status is GrantStatus.REVOKED
    assert token is not None and token.revocation_reason == "grant_revoked"
    # Core banking revokes the consent when the relay hands it the `grant.revoked` event (twice: at least once).
    withdrawal = consent_withdrawal_consumer(shared_platform.keyring)
    for event in [*events, *events]:
        await apply_once(shared_platform.sessions, withdrawal, to_event(event))
    consent = await in_process(shared_platform).get_consent(holder.consent_id)
    assert consent.status is core_banking.ConsentStatus.REVOKED
    assert [e.event_type for e in events] == ["grant.approved", "grant.revoked"]
    # The customer by core banking's id, as every other context's audit records know them (not the login id).
    assert len(audits) == 1 and audits[0].actor_id == str(holder.customer_id)
    denials = shared_platform.revocations
    for identifier in (f"grant:{grant.id}", f"consent:{holder.consent_id}", f"jti:{holder.access_token_jti}"):
        assert await denials.first_revoked([identifier]) == identifier


async def test_another_customers_consent_or_an_unknown_one_is_not_found(
    api: httpx.AsyncClient, auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    holder = await _holder(shared_platform, auth_server, client.client_id)
    intruder = _as(auth_server, uuid.uuid4())

    theirs = await api.delete(f"{CONSENTS}/{holder.grant.id}", headers=intruder)
    unknown = await api.delete(f"{CONSENTS}/{uuid.uuid4()}", headers=_as(auth_server, holder.customer_id))
    malformed = await api.delete(f"{CONSENTS}/not-a-uuid", headers=_as(auth_server, holder.customer_id))

    _problem(theirs, 404, "consent_not_found")
    _problem(unknown, 404, "consent_not_found")
    _problem(malformed, 422, "invalid_request")
    async with unit_of_work(shared_platform.sessions) as session:
        assert (await grants_service.get_grant(session, holder.grant.id)).status is GrantStatus.ACTIVE
    assert await shared_platform.revocations.first_revoked([f"grant:{holder.grant.id}"]) is None


@pytest.mark.parametrize("kind", ["staff", "client"])
async def test_only_customers_have_consents(
    api: httpx.AsyncClient,
    auth_server: RunningAS,
    register_client: RegisterClient,
    shared_platform: Platform,
    kind: str,
) -> None:
    client = await register_client()
    holder = await _holder(shared_platform, auth_server, client.client_id)
    headers = _as(auth_server, holder.customer_id, kind="staff" if kind == "staff" else "client")

    listed = await api.get(CONSENTS, headers=headers)
    deleted = await api.delete(f"{CONSENTS}/{holder.grant.id}", headers=headers)

    _problem(listed, 403, "forbidden")
    _problem(deleted, 403, "forbidden")
    async with unit_of_work(shared_platform.sessions) as session:
        assert (await grants_service.get_grant(session, holder.grant.id)).status is GrantStatus.ACTIVE


async def test_requests_without_a_valid_internal_assertion_are_refused(
    api: httpx.AsyncClient, auth_server: RunningAS
) -> None:
    subject = uuid.uuid4()
    forger = InternalAssertions(ECKey.generate_key("P-256", private=True))
    forged = Principal(subject=str(subject), kind="customer", interaction_id=INTERACTION_ID)

    refusals = [
        await api.get(CONSENTS),
        await api.get(CONSENTS, headers={PRINCIPAL_HEADER: forger.sign(forged, "auth_server")}),
        await api.get(CONSENTS, headers=_as(auth_server, subject, audience="core_banking")),
        await api.delete(f"{CONSENTS}/{uuid.uuid4()}", headers={"x-customer-id": str(subject)}),
    ]

    for response in refusals:
        _problem(response, 401, "unauthenticated")
