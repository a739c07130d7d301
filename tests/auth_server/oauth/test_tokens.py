"""client_credentials tokens (RFC 9068, bound per RFC 8705), introspection (RFC 7662), revocation (RFC 7009)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import text

from auth_server.oauth.config import INTROSPECTION_PATH, JWKS_PATH, REVOCATION_PATH, TOKEN_PATH
from obank.certs import certificate_thumbprint_s256
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.auth_server.oauth.conftest import Pki, RegisterClient, RegisteredClient, RunningAS, assertion_form


async def _token(auth_server: RunningAS, client: RegisteredClient, cert: str | None = "tpp", **form: str) -> Any:
    body = {"grant_type": "client_credentials", **form, **assertion_form(client, auth_server.issuer)}
    return await auth_server.http(cert).post(TOKEN_PATH, data=body)


async def _access_token(auth_server: RunningAS, client: RegisteredClient, cert: str = "tpp", **form: str) -> str:
    response = await _token(auth_server, client, cert, **form)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def _introspect(
    auth_server: RunningAS, caller: RegisteredClient, token: str, cert: str = "tpp"
) -> dict[str, Any]:
    response = await auth_server.http(cert).post(
        INTROSPECTION_PATH, data={"token": token, **assertion_form(caller, auth_server.issuer)}
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


def _header(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return header


@pytest.mark.parametrize("alg", ["ES256", "PS256"])
async def test_client_credentials_token_is_an_rfc9068_jwt_bound_to_the_certificate(
    auth_server: RunningAS, register_client: RegisterClient, pki: Pki, alg: str
) -> None:
    client = await register_client(access_token_signed_response_alg=alg)

    response = await _token(auth_server, client, scope="accounts payments")

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "accounts payments"
    assert 0 < body["expires_in"] <= 600
    jwks = (await auth_server.http(None).get(JWKS_PATH)).json()
    assert all("d" not in key for key in jwks["keys"])
    token = jwt.decode(body["access_token"], KeySet.import_key_set(jwks), algorithms=[alg])
    assert token.header["typ"] == "at+jwt"
    assert token.header["alg"] == alg
    claims = token.claims
    assert claims["iss"] == auth_server.issuer
    assert claims["sub"] == client.client_id
    assert claims["client_id"] == client.client_id
    assert claims["aud"] == auth_server.issuer
    assert claims["scope"] == "accounts payments"
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert claims["jti"]
    # RFC 8705 s3.1: the thumbprint of exactly the certificate presented on this connection.
    assert claims["cnf"] == {"x5t#S256": certificate_thumbprint_s256(pki.certificate("tpp"))}


async def test_default_scope_is_the_registered_non_openid_scopes(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    client = await register_client(scope="openid accounts")

    response = await _token(auth_server, client)

    assert response.json()["scope"] == "accounts"


async def test_a_confidential_client_without_a_certificate_gets_no_token(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    client = await register_client()

    response = await _token(auth_server, client, cert=None)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "certificate" in response.json()["error_description"]


@pytest.mark.parametrize(("scope", "error"), [("fundsconfirmations", "invalid_scope"), ("openid", "invalid_scope")])
async def test_scopes_outside_the_registration_are_refused(
    auth_server: RunningAS, register_client: RegisterClient, scope: str, error: str
) -> None:
    client = await register_client(scope="openid accounts")

    response = await _token(auth_server, client, scope=scope)

    assert response.status_code == 400
    assert response.json()["error"] == error


async def test_grant_types_other_than_client_credentials_are_refused(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    client = await register_client()
    no_cc = await register_client(grant_types=("authorization_code",))

    for grant_type, expected in (("password", "unsupported_grant_type"), ("implicit", "unsupported_grant_type")):
        response = await _token(auth_server, client, grant_type=grant_type)
        assert response.status_code == 400
        assert response.json()["error"] == expected
    not_registered = await _token(auth_server, no_cc)
    assert not_registered.json()["error"] == "unauthorized_client"
    missing = await auth_server.http().post(TOKEN_PATH, data=assertion_form(client, auth_server.issuer))
    assert missing.json()["error"] == "invalid_request"


async def test_introspection_shows_a_client_only_its_own_live_tokens(
    auth_server: RunningAS, register_client: RegisterClient, pki: Pki
) -> None:
    owner = await register_client()
    other = await register_client()
    token = await _access_token(auth_server, owner)

    own = await _introspect(auth_server, owner, token)
    foreign = await _introspect(auth_server, other, token, cert="other")
    garbage = await _introspect(auth_server, owner, "not-a-token")

    assert own["active"] is True
    assert own["client_id"] == owner.client_id
    assert own["scope"] == "accounts payments"
    assert own["token_type"] == "Bearer"
    assert own["cnf"] == {"x5t#S256": certificate_thumbprint_s256(pki.certificate("tpp"))}
    assert foreign == {"active": False}
    assert garbage == {"active": False}


async def test_revocation_ends_a_token_denies_it_at_the_gateway_and_publishes_its_jti(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    token = await _access_token(auth_server, client)
    jti = jwt.decode(
        token, KeySet.import_key_set((await auth_server.http(None).get(JWKS_PATH)).json()), algorithms=["ES256"]
    ).claims["jti"]

    response = await auth_server.http().post(
        REVOCATION_PATH, data={"token": token, **assertion_form(client, auth_server.issuer)}
    )

    assert response.status_code == 200
    assert (await _introspect(auth_server, client, token)) == {"active": False}
    async with unit_of_work(shared_platform.sessions) as session:
        events = (
            (
                await session.execute(
                    text(
                        "SELECT payload FROM platform.outbox_events"
                        " WHERE topic = 'auth_server.token_revocations' AND event_type = 'token.revoked'"
                    )
                )
            )
            .scalars()
            .all()
        )
        audited = await session.scalar(
            text("SELECT count(*) FROM audit.audit_records WHERE action = 'token.revoked' AND entity_id = :jti"),
            {"jti": jti},
        )
    assert any(jti in event["access_token_jtis"] for event in events)
    assert audited == 1
    assert await shared_platform.revocations.first_revoked([f"jti:{jti}"]) == f"jti:{jti}"


async def test_revoking_another_clients_token_is_refused_and_changes_nothing(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    owner = await register_client()
    other = await register_client()
    token = await _access_token(auth_server, owner)

    refused = await auth_server.http("other").post(
        REVOCATION_PATH, data={"token": token, **assertion_form(other, auth_server.issuer)}
    )
    unknown = await auth_server.http().post(
        REVOCATION_PATH, data={"token": "unknown", **assertion_form(owner, auth_server.issuer)}
    )

    assert refused.status_code == 400
    assert refused.json()["error"] == "unauthorized_client"
    assert unknown.status_code == 200  # RFC 7009 s2.2
    assert (await _introspect(auth_server, owner, token))["active"] is True


async def test_every_issued_token_is_stored_audited_and_published(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    token = await _access_token(auth_server, client)
    jti = _claims(token)["jti"]

    async with unit_of_work(shared_platform.sessions) as session:
        stored = await session.scalar(
            text("SELECT certificate_thumbprint FROM auth_server.issued_tokens WHERE id = :id"), {"id": jti}
        )
        published = await session.scalar(
            text("SELECT count(*) FROM platform.outbox_events WHERE event_type = 'token.issued' AND key = :jti"),
            {"jti": jti},
        )
        audited = await session.scalar(
            text("SELECT count(*) FROM audit.audit_records WHERE action = 'token.issued' AND entity_id = :jti"),
            {"jti": jti},
        )
    assert stored == _claims(token)["cnf"]["x5t#S256"]
    assert (published, audited) == (1, 1)


def _claims(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return claims
