"""The refresh_token grant: not rotated for confidential clients, bound to client and certificate, revocable."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from sqlalchemy import select

from audit.trail import platform_units
from auth_server.oauth.config import INTROSPECTION_PATH, PAR_PATH, TOKEN_PATH
from auth_server.oauth.errors import InvalidGrant
from auth_server.oauth.grants import service as grants_service
from auth_server.oauth.grants.models import GrantStatus
from obank.database import unit_of_work
from obank.outbox.models import OutboxEvent
from obank.runtime import Platform
from tests.auth_server.helpers import TEST_ACTOR
from tests.auth_server.oauth.conftest import (
    REDIRECT_URI,
    RegisterClient,
    RegisteredClient,
    RunningAS,
    assertion_form,
)
from tests.auth_server.oauth.flow import (
    Pushed,
    access_consent,
    approve,
    code_form,
    new_enrolled_customer,
    pkce,
    push,
)


async def _tokens(
    running: RunningAS, register_client: RegisterClient, platform: Platform
) -> tuple[RegisteredClient, dict[str, str]]:
    client = await register_client(grant_types=("authorization_code", "refresh_token"))
    customer = await new_enrolled_customer(platform)
    pushed = await push(running, client, consent=await access_consent(platform, client.client_id))
    _, _, params = await approve(running, client, pushed, customer)
    response = await running.http().post(TOKEN_PATH, data=code_form(client, running, params["code"], pushed.verifier))
    assert response.status_code == 200, response.text
    return client, response.json()


def _refresh(client: RegisteredClient, running: RunningAS, token: str, **extra: str) -> dict[str, str]:
    return {"grant_type": "refresh_token", "refresh_token": token, **assertion_form(client, running.issuer), **extra}


async def test_a_refresh_token_gives_new_access_tokens_and_is_not_rotated(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client, tokens = await _tokens(full_server, register_client, shared_platform)

    first = await full_server.http().post(TOKEN_PATH, data=_refresh(client, full_server, tokens["refresh_token"]))
    second = await full_server.http().post(TOKEN_PATH, data=_refresh(client, full_server, tokens["refresh_token"]))
    widened = await full_server.http().post(
        TOKEN_PATH, data=_refresh(client, full_server, tokens["refresh_token"], scope="openid accounts payments")
    )

    for response in (first, second):
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        assert "refresh_token" not in response.json()  # FAPI 2.0 SP s5.3.2.1: no rotation for confidential clients
        assert response.json()["access_token"] != tokens["access_token"]
        assert response.json()["authorization_details"] == tokens["authorization_details"]
    assert widened.json()["error"] == "invalid_scope"


async def test_a_refresh_token_works_only_for_its_client_and_certificate(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client, tokens = await _tokens(full_server, register_client, shared_platform)
    other = await register_client(grant_types=("authorization_code", "refresh_token"))

    by_other_client = await full_server.http().post(
        TOKEN_PATH, data=_refresh(other, full_server, tokens["refresh_token"])
    )
    by_other_cert = await full_server.http("other").post(
        TOKEN_PATH, data=_refresh(client, full_server, tokens["refresh_token"])
    )
    unknown = await full_server.http().post(TOKEN_PATH, data=_refresh(client, full_server, "obrt_" + "x" * 43))

    for response in (by_other_client, by_other_cert, unknown):
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant", response.text


async def test_revoking_the_grant_kills_its_refresh_and_access_tokens_denies_them_and_publishes_an_event(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client, tokens = await _tokens(full_server, register_client, shared_platform)
    introspected = await full_server.http().post(
        INTROSPECTION_PATH, data={"token": tokens["refresh_token"], **assertion_form(client, full_server.issuer)}
    )
    assert introspected.json()["active"] is True
    async with platform_units(shared_platform).begin(TEST_ACTOR) as uow:
        record = await full_server.server.tokens.find_token(uow.session, tokens["refresh_token"])
        assert record is not None and record.grant_id is not None
        grant = await grants_service.get_grant(uow.session, record.grant_id)
        revoked = await grants_service.revoke_grant(
            uow, full_server.server.tokens, grant_id=grant.id, subject=grant.subject
        )

    refreshed = await full_server.http().post(TOKEN_PATH, data=_refresh(client, full_server, tokens["refresh_token"]))

    assert revoked.status is GrantStatus.REVOKED
    assert refreshed.json()["error"] == "invalid_grant"
    # The access token names its grant, which the gateway now refuses (RFC 9068 tokens outlive the row).
    claims = await full_server.server.tokens.verify_access_token(tokens["access_token"])
    assert claims["grant_id"] == str(grant.id)
    denied = [f"grant:{grant.id}", f"consent:{grant.consent_id}", f"jti:{claims['jti']}"]
    assert [await shared_platform.revocations.first_revoked([entry]) for entry in denied] == denied
    for token in (tokens["access_token"], tokens["refresh_token"]):
        response = await full_server.http().post(
            INTROSPECTION_PATH, data={"token": token, **assertion_form(client, full_server.issuer)}
        )
        assert response.json() == {"active": False}
    async with unit_of_work(shared_platform.sessions) as session:
        events = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.key == str(grant.id)).order_by(OutboxEvent.position)
            )
        ).all()
    assert [e.event_type for e in events] == ["grant.approved", "grant.revoked"]
    with pytest.raises(InvalidGrant, match="does not exist"):
        async with platform_units(shared_platform).begin(TEST_ACTOR) as uow:
            await grants_service.revoke_grant(uow, full_server.server.tokens, grant_id=grant.id, subject=uuid.uuid4())


async def test_a_public_clients_refresh_token_rotates_with_a_grace_window_and_reuse_after_it_ends_the_grant(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await register_client(
        method="none", grant_types=("authorization_code", "refresh_token"), scope="openid accounts", first_party=True
    )
    customer = await new_enrolled_customer(shared_platform)
    verifier, challenge = pkce()
    par = {
        "client_id": app.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid accounts",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    pushed = Pushed((await full_server.http(None).post(PAR_PATH, data=par)).json()["request_uri"], verifier, None, None)
    _, _, params = await approve(full_server, app, pushed, customer)
    code = {"grant_type": "authorization_code", "client_id": app.client_id, "code": params["code"]}
    code |= {"redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    first = (await full_server.http(None).post(TOKEN_PATH, data=code)).json()["refresh_token"]

    def refresh(token: str) -> dict[str, str]:
        return {"grant_type": "refresh_token", "client_id": app.client_id, "refresh_token": token}

    second = await full_server.http(None).post(TOKEN_PATH, data=refresh(first))
    retried = await full_server.http(None).post(TOKEN_PATH, data=refresh(first))  # inside the grace window

    assert second.status_code == 200 and retried.status_code == 200, (second.text, retried.text)
    assert len({first, second.json()["refresh_token"], retried.json()["refresh_token"]}) == 3
    monkeypatch.setattr(
        full_server.server, "config", replace(full_server.server.config, refresh_token_rotation_grace_s=0)
    )
    third = await full_server.http(None).post(TOKEN_PATH, data=refresh(second.json()["refresh_token"]))
    assert third.status_code == 200, third.text
    reused = await full_server.http(None).post(TOKEN_PATH, data=refresh(second.json()["refresh_token"]))
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # Reuse after the grace window reads as theft: every token of the grant is dead, the newest included.
    after = await full_server.http(None).post(TOKEN_PATH, data=refresh(third.json()["refresh_token"]))
    assert after.json()["error"] == "invalid_grant"
