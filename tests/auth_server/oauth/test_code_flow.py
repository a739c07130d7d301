"""The code flow end to end over real TLS: PAR, sign-in with TOTP, consent, code with iss, certificate-bound tokens."""

from __future__ import annotations

from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet

from auth_server.oauth.config import INTROSPECTION_PATH, JWKS_PATH, PAR_PATH, TOKEN_PATH
from auth_server.oauth.userinfo.router import USERINFO_PATH
from core_banking import facade as core_banking
from obank.certs import certificate_thumbprint_s256
from obank.runtime import Platform
from tests.auth_server.oauth.conftest import REDIRECT_URI, Pki, RegisterClient, RunningAS, assertion_form
from tests.auth_server.oauth.flow import (
    PAYEE,
    Pushed,
    access_consent,
    approve,
    code_form,
    get_consent,
    new_enrolled_customer,
    payment_consent,
    pkce,
    push,
)


async def _verify(running: RunningAS, token: str) -> dict[str, Any]:
    jwks = (await running.http().get(JWKS_PATH)).json()
    return jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256", "PS256"]).claims


async def test_happy_path_par_login_totp_consent_code_token_introspection_userinfo(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform, pki: Pki
) -> None:
    client = await register_client(grant_types=("authorization_code", "refresh_token"))
    customer = await new_enrolled_customer(shared_platform)
    consent = await payment_consent(shared_platform, client.client_id)
    pushed = await push(full_server, client, consent=consent)

    _, page, params = await approve(full_server, client, pushed, customer)

    assert PAYEE in page.text and "125.50 GBP" in page.text and "INV-2026-77" in page.text
    assert "Test TPP" in page.text
    assert params["iss"] == full_server.issuer and params["state"] == pushed.state  # RFC 9207 s2
    authorised = await get_consent(shared_platform, consent.id)
    assert authorised.status is core_banking.ConsentStatus.AUTHORISED
    assert authorised.account_ids == (customer.account_ids[0],)

    response = await full_server.http().post(
        TOKEN_PATH, data=code_form(client, full_server, params["code"], pushed.verifier)
    )

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    thumbprint = certificate_thumbprint_s256(pki.certificate("tpp"))
    access = await _verify(full_server, body["access_token"])
    assert access["cnf"] == {"x5t#S256": thumbprint}
    assert access["consent_id"] == consent.id and access["acr"] == "urn:openbanking:psd2:sca"
    assert isinstance(access["auth_time"], int)
    assert access["authorization_details"] == body["authorization_details"]
    assert body["authorization_details"][0]["consent_id"] == consent.id
    id_token = await _verify(full_server, body["id_token"])
    assert id_token["aud"] == client.client_id and id_token["nonce"] == pushed.nonce
    assert id_token["acr"] == "urn:openbanking:psd2:sca" and set(id_token["amr"]) >= {"pwd", "otp"}
    assert id_token["auth_time"] == access["auth_time"] and id_token["sub"] == access["sub"]
    assert body["refresh_token"].startswith("obrt_")

    introspected = await full_server.http().post(
        INTROSPECTION_PATH, data={"token": body["access_token"], **assertion_form(client, full_server.issuer)}
    )
    assert introspected.json()["active"] is True
    assert introspected.json()["authorization_details"] == body["authorization_details"]
    assert introspected.json()["cnf"] == {"x5t#S256": thumbprint}

    userinfo = await full_server.http().get(USERINFO_PATH, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json() == {"sub": access["sub"], "openbanking_intent_id": consent.id}


async def test_a_token_used_with_another_certificate_is_refused_at_userinfo(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    customer = await new_enrolled_customer(shared_platform)
    pushed = await push(full_server, client, consent=await access_consent(shared_platform, client.client_id))
    _, _, params = await approve(full_server, client, pushed, customer)
    token = (
        await full_server.http().post(TOKEN_PATH, data=code_form(client, full_server, params["code"], pushed.verifier))
    ).json()["access_token"]

    other = await full_server.http("other").get(USERINFO_PATH, headers={"Authorization": f"Bearer {token}"})
    none = await full_server.http(None).get(USERINFO_PATH, headers={"Authorization": f"Bearer {token}"})
    own = await full_server.http().get(USERINFO_PATH, headers={"Authorization": f"Bearer {token}"})

    assert other.status_code == 401 and other.json()["error"] == "invalid_token"
    assert none.status_code == 401
    assert 'Bearer error="invalid_token"' in other.headers["www-authenticate"]
    assert own.status_code == 200


async def test_a_replayed_code_is_refused_and_revokes_every_token_issued_from_it(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client(grant_types=("authorization_code", "refresh_token"))
    customer = await new_enrolled_customer(shared_platform)
    pushed = await push(full_server, client, consent=await access_consent(shared_platform, client.client_id))
    _, _, params = await approve(full_server, client, pushed, customer)
    first = await full_server.http().post(
        TOKEN_PATH, data=code_form(client, full_server, params["code"], pushed.verifier)
    )
    assert first.status_code == 200, first.text
    tokens = first.json()

    replay = await full_server.http().post(
        TOKEN_PATH, data=code_form(client, full_server, params["code"], pushed.verifier)
    )

    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    for token in (tokens["access_token"], tokens["refresh_token"]):
        introspected = await full_server.http().post(
            INTROSPECTION_PATH, data={"token": token, **assertion_form(client, full_server.issuer)}
        )
        assert introspected.json() == {"active": False}
    refreshed = await full_server.http().post(
        TOKEN_PATH,
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            **assertion_form(client, full_server.issuer),
        },
    )
    assert refreshed.json()["error"] == "invalid_grant"


async def test_the_code_is_bound_to_client_redirect_uri_and_pkce_verifier(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    thief = await register_client()
    customer = await new_enrolled_customer(shared_platform)
    pushed = await push(full_server, client, consent=await access_consent(shared_platform, client.client_id))
    _, _, params = await approve(full_server, client, pushed, customer)
    code = params["code"]

    other_client = await full_server.http().post(TOKEN_PATH, data=code_form(thief, full_server, code, pushed.verifier))
    wrong_verifier = await full_server.http().post(TOKEN_PATH, data=code_form(client, full_server, code, "x" * 50))
    no_verifier = code_form(client, full_server, code, pushed.verifier)
    del no_verifier["code_verifier"]
    missing = await full_server.http().post(TOKEN_PATH, data=no_verifier)
    wrong_redirect = {
        **code_form(client, full_server, code, pushed.verifier),
        "redirect_uri": "https://tpp.example/other",
    }
    redirected = await full_server.http().post(TOKEN_PATH, data=wrong_redirect)
    good = await full_server.http().post(TOKEN_PATH, data=code_form(client, full_server, code, pushed.verifier))

    for refused in (other_client, wrong_verifier, redirected):
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    assert good.status_code == 200, good.text  # the failures above did not use the code up


async def test_the_first_party_public_client_uses_code_and_pkce_without_a_secret_or_certificate(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    app = await register_client(
        method="none", grant_types=("authorization_code",), scope="openid accounts", first_party=True
    )
    customer = await new_enrolled_customer(shared_platform)
    verifier, challenge = pkce()
    form = {
        "client_id": app.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid accounts",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    pushed_response = await full_server.http(None).post(PAR_PATH, data=form)
    assert pushed_response.status_code == 201, pushed_response.text
    pushed = Pushed(pushed_response.json()["request_uri"], verifier, None, None)
    _, _, params = await approve(full_server, app, pushed, customer)
    token_form = {
        "grant_type": "authorization_code",
        "client_id": app.client_id,
        "code": params["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }

    response = await full_server.http(None).post(TOKEN_PATH, data=token_form)

    assert response.status_code == 200, response.text
    claims = await _verify(full_server, response.json()["access_token"])
    assert "cnf" not in claims and claims["client_id"] == app.client_id
    assert "refresh_token" not in response.json()  # not registered for the refresh_token grant
    userinfo = await full_server.http(None).get(
        USERINFO_PATH, headers={"Authorization": f"Bearer {response.json()['access_token']}"}
    )
    assert userinfo.status_code == 200 and userinfo.json()["sub"] == claims["sub"]
