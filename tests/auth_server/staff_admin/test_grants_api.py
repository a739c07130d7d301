"""`GET /admin/v1/grants?customer_id=` and `POST /admin/v1/grants/{id}/revocation`: a customer's grants, revoked
by staff exactly as the customer's own withdrawal revokes them, audited as the staff member with their reason."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from audit.trail import platform_units
from auth_server.identities import service as identities
from auth_server.identities.schemas import IdentityRecord
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.grants import service as grants_service
from auth_server.oauth.grants.models import GrantStatus
from auth_server.oauth.tokens import repository as tokens_repository
from auth_server.oauth.tokens.models import SubjectKind
from core_banking import facade as core_banking
from core_banking.consents.consumers import consent_withdrawal_consumer
from obank.database import unit_of_work
from obank.outbox.consumers import apply_once
from obank.outbox.repository import to_event
from obank.runtime import Platform
from tests.auth_server.helpers import TEST_ACTOR
from tests.auth_server.oauth.conftest import registrar
from tests.auth_server.oauth.flow import access_consent, in_process, new_enrolled_customer
from tests.auth_server.staff_admin.conftest import HeadersFor
from tests.auth_server.staff_admin.helpers import assert_problem, audit_records, audited_after, events

GRANTS = "/admin/v1/grants"
REASON = "Customer says they never authorised this app"


async def _grant(
    platform: Platform,
    *,
    login_id: uuid.UUID,
    customer_id: uuid.UUID,
    client_id: str,
    consent_id: str | None = None,
    account_ids: tuple[uuid.UUID, ...] = (),
    days_ago: int = 0,
) -> grants_service.GrantRecord:
    now = datetime.now(UTC) - timedelta(days=days_ago)
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        return await grants_service.record_grant(
            uow,
            subject=login_id,
            customer_id=customer_id,
            client_id=client_id,
            scopes=["openid", "accounts"],
            authorization_details=None,
            consent_id=consent_id,
            account_ids=list(account_ids),
            expires_at=now + timedelta(days=90),
            now=now,
        )


async def test_staff_list_a_customers_grants_to_the_banks_apps_and_to_tpps(
    api: httpx.AsyncClient, headers_for: HeadersFor, customer_login: IdentityRecord, platform: Platform
) -> None:
    register = registrar(platform)
    web_app = await register(
        method="none", first_party=True, client_name="obank web", grant_types=("authorization_code",)
    )
    tpp = await register(client_name="Budget Buddy")
    assert customer_login.customer_id is not None
    own = await _grant(
        platform,
        login_id=customer_login.id,
        customer_id=customer_login.customer_id,
        client_id=web_app.client_id,
        days_ago=2,
    )
    theirs = await _grant(
        platform, login_id=customer_login.id, customer_id=customer_login.customer_id, client_id=tpp.client_id
    )
    stranger = await _grant(platform, login_id=uuid.uuid4(), customer_id=uuid.uuid4(), client_id=tpp.client_id)

    response = await api.get(
        GRANTS, params={"customer_id": str(customer_login.customer_id)}, headers=headers_for("auditor")
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer_id"] == str(customer_login.customer_id)
    newest, oldest = body["grants"]
    assert (newest["grant_id"], oldest["grant_id"]) == (str(theirs.id), str(own.id))
    assert str(stranger.id) not in response.text
    assert (newest["client_name"], newest["first_party"]) == ("Budget Buddy", False)
    assert (oldest["client_name"], oldest["first_party"]) == ("obank web", True)
    assert newest["scopes"] == ["openid", "accounts"] and newest["status"] == "ACTIVE"
    assert newest["revoked_at"] is None and newest["consent_id"] is None
    empty = await api.get(GRANTS, params={"customer_id": str(uuid.uuid4())}, headers=headers_for("support"))
    assert empty.json()["grants"] == []


async def test_staff_revoke_a_grant_as_its_customer_would_audited_as_themselves(
    api: httpx.AsyncClient, oauth_app: FastAPI, headers_for: HeadersFor, platform: Platform
) -> None:
    register = registrar(platform)
    client = await register()
    customer = await new_enrolled_customer(platform)
    consent = await access_consent(platform, client.client_id)
    await in_process(platform).authorise_consent(
        consent.id, customer_id=customer.customer_id, account_ids=[customer.account_ids[0]]
    )
    async with unit_of_work(platform.sessions) as session:
        login = await identities.find_by_customer(session, customer.customer_id)
    assert login is not None
    grant = await _grant(
        platform,
        login_id=login.id,
        customer_id=customer.customer_id,
        client_id=client.client_id,
        consent_id=consent.id,
        account_ids=(customer.account_ids[0],),
    )
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        issued = await oauth_app.state.oauth.tokens.issue_access_token(
            uow,
            client=await clients_service.get_client(uow.session, client.client_id),
            grant_type="authorization_code",
            subject=str(login.id),
            subject_kind=SubjectKind.CUSTOMER,
            scopes=["openid", "accounts"],
            certificate_thumbprint="q" * 43,
            consent_id=consent.id,
            grant_id=grant.id,
        )
    staff = headers_for("support", subject="agent-3")
    path = f"{GRANTS}/{grant.id}/revocation"

    response = await api.post(path, json={"reason": REASON}, headers=staff)
    again = await api.post(path, json={"reason": REASON}, headers=staff)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "REVOKED" and response.json()["revoked_at"] is not None
    assert again.status_code == 200 and again.json() == response.json()  # revoked already: answered as it stands
    async with unit_of_work(platform.sessions) as session:
        assert (await grants_service.get_grant(session, grant.id)).status is GrantStatus.REVOKED
        token = await tokens_repository.get(session, issued.jti)
    assert token is not None and token.revocation_reason == grants_service.STAFF_REVOKED
    denials = platform.revocations
    for identifier in (f"grant:{grant.id}", f"consent:{consent.id}", f"jti:{issued.jti}"):
        assert await denials.first_revoked([identifier]) == identifier
    (record,) = await audit_records(platform, "grant.revoked", str(grant.id))
    assert (record.actor_kind, record.actor_id) == ("staff", "agent-3")
    assert (await audited_after(platform, record))["staff_reason"] == REASON
    (event,) = await events(platform, "grant.revoked", str(grant.id))
    assert event.payload["actor_kind"] == "staff" and event.payload["reason"] == grants_service.STAFF_REVOKED
    assert REASON not in json.dumps(event.payload)
    # Core banking revokes the consent when the relay hands it the event, as for the customer's own withdrawal.
    await apply_once(platform.sessions, consent_withdrawal_consumer(platform.keyring), to_event(event))
    assert (await in_process(platform).get_consent(consent.id)).status is core_banking.ConsentStatus.REVOKED


async def test_unknown_grant_bad_input_and_refused_callers(
    api: httpx.AsyncClient, headers_for: HeadersFor, customer_login: IdentityRecord, platform: Platform
) -> None:
    client = await registrar(platform)()
    assert customer_login.customer_id is not None
    grant = await _grant(
        platform, login_id=customer_login.id, customer_id=customer_login.customer_id, client_id=client.client_id
    )
    body = {"reason": REASON}
    path = f"{GRANTS}/{grant.id}/revocation"
    customer = headers_for(kind="customer", subject=str(customer_login.customer_id))

    assert_problem(
        await api.post(f"{GRANTS}/{uuid.uuid4()}/revocation", json=body, headers=headers_for("admin")),
        404,
        "grant_not_found",
    )
    assert_problem(
        await api.post(f"{GRANTS}/nope/revocation", json=body, headers=headers_for("admin")), 422, "invalid_request"
    )
    assert_problem(
        await api.post(path, json={"reason": "\u0000" * 5}, headers=headers_for("admin")), 422, "invalid_request"
    )
    assert_problem(
        await api.post(path, json={"reason": "y" * 501}, headers=headers_for("admin")), 422, "invalid_request"
    )
    assert_problem(await api.post(path, json=body, headers=headers_for("auditor")), 403, "insufficient_role")
    assert_problem(await api.post(path, json=body, headers=customer), 403, "forbidden")
    assert_problem(
        await api.get(GRANTS, params={"customer_id": str(customer_login.customer_id)}, headers=customer),
        403,
        "forbidden",
    )
    assert_problem(await api.get(GRANTS, headers=headers_for("admin")), 422, "invalid_request")
    assert_problem(
        await api.get(GRANTS, params={"customer_id": "1"}, headers=headers_for("admin")), 422, "invalid_request"
    )
    async with unit_of_work(platform.sessions) as session:
        assert (await grants_service.get_grant(session, grant.id)).status is GrantStatus.ACTIVE
