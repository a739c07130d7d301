"""FAPI 2.0 SP conformance checks (fapi2-sp-final-server-checks.txt) not shown elsewhere in this suite."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from auth_server.oauth.authorize.router import DECISION_PATH
from auth_server.oauth.client_auth.service import JWT_BEARER_ASSERTION
from auth_server.oauth.config import JWKS_PATH, OPENID_CONFIGURATION_PATH, PAR_PATH, TOKEN_PATH
from auth_server.oauth.userinfo.router import USERINFO_PATH
from auth_server.sessions.schemas import ACR_SCA
from core_banking import facade as core_banking
from obank.certs import certificate_thumbprint_s256
from obank.runtime import Platform
from tests.auth_server.oauth.conftest import (
    REDIRECT_URI,
    Pki,
    RegisterClient,
    RegisteredClient,
    RunningAS,
    assertion_form,
    client_assertion,
)
from tests.auth_server.oauth.flow import (
    Pushed,
    access_consent,
    approve,
    authorize_path,
    code_form,
    complete_sign_in,
    decision_form,
    new_enrolled_customer,
    pkce,
    push,
    redirect_params,
    sign_in_to_consent,
)

# Claims a JWT carries whatever the request asked (RFC 7519 s4.1, RFC 9068 s2.2, OpenID Connect Core s2).
REGISTERED_CLAIMS = {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "azp", "at_hash"}


async def _claims(running: RunningAS, token: str) -> dict[str, Any]:
    jwks = KeySet.import_key_set((await running.http(None).get(JWKS_PATH)).json())
    claims: dict[str, Any] = jwt.decode(token, jwks, algorithms=["ES256", "PS256"]).claims
    return claims


async def _approved(
    running: RunningAS, register_client: RegisterClient, platform: Platform, **push_extra: Any
) -> tuple[RegisteredClient, Pushed, dict[str, str], core_banking.ConsentRecord]:
    """A client, its pushed request for a new account-access consent, and the redirect after the approval."""
    client = await register_client(grant_types=("authorization_code", "refresh_token"))
    consent = await access_consent(platform, client.client_id)
    pushed = await push(running, client, consent=consent, **push_extra)
    _, _, params = await approve(running, client, pushed, await new_enrolled_customer(platform))
    return client, pushed, params, consent


def _par_form(client: RegisteredClient, running: RunningAS, **extra: str) -> dict[str, str]:
    """A valid pushed request for `client` (PKCE S256, registered redirect URI), without authentication."""
    _, challenge = pkce()
    return {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid accounts",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


async def _redeem(running: RunningAS, client: RegisteredClient, pushed: Pushed, code: str) -> dict[str, Any]:
    response = await running.http().post(TOKEN_PATH, data=code_form(client, running, code, pushed.verifier))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _bearer(token: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


async def test_the_bearer_scheme_is_matched_case_insensitively_at_userinfo(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    """FAPI2SPFinalAccessTokenTypeHeaderCaseSensitivity (RFC 9110 s11.1: auth schemes are case-insensitive)."""
    client, pushed, params, _ = await _approved(full_server, register_client, shared_platform)
    tokens = await _redeem(full_server, client, pushed, params["code"])

    answers = [
        await full_server.http().get(USERINFO_PATH, headers=_bearer(tokens["access_token"], scheme))
        for scheme in ("Bearer", "bearer", "BEARER", "bEaReR")
    ]
    other_scheme = await full_server.http().get(USERINFO_PATH, headers=_bearer(tokens["access_token"], "Basic"))

    assert tokens["token_type"] == "Bearer"
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert other_scheme.status_code == 401 and other_scheme.json()["error"] == "invalid_token"


async def test_the_discovery_document_and_jwks_hold_only_what_fapi_allows(full_server: RunningAS) -> None:
    """FAPI2SPFinalDiscoveryEndpointVerification (OpenID Connect Discovery s3-4; FAPI 2.0 SP s5.3.2, s5.4.1)."""
    response = await full_server.http(None).get(OPENID_CONFIGURATION_PATH)
    document: dict[str, Any] = response.json()
    jwks = (await full_server.http(None).get(JWKS_PATH)).json()

    # Discovery s4.3: the issuer is the URL the document was fetched under, less the well-known suffix.
    assert document["issuer"] + OPENID_CONFIGURATION_PATH == str(response.url)
    assert response.headers["content-type"].startswith("application/json")
    urls = {name: value for name, value in document.items() if name.endswith(("_endpoint", "_uri"))}
    assert {"authorization_endpoint", "token_endpoint", "pushed_authorization_request_endpoint"} <= set(urls)
    assert {"jwks_uri", "userinfo_endpoint", "introspection_endpoint", "revocation_endpoint"} <= set(urls)
    assert all(urlsplit(url).scheme == "https" for url in urls.values()), urls
    assert "openid" in document["scopes_supported"]
    assert document["claims_parameter_supported"] is True
    assert document["request_parameter_supported"] is False  # no request objects, so no JAR checks apply
    assert document["response_modes_supported"] == ["query"]
    assert not {"implicit", "password"} & set(document["grant_types_supported"])
    assert not any(m.startswith("client_secret") for m in document["token_endpoint_auth_methods_supported"])
    assert set(document["id_token_signing_alg_values_supported"]) <= {"PS256", "ES256", "EdDSA"}
    assert "dpop_signing_alg_values_supported" not in document  # sender constraint is mTLS only (RFC 8705)
    assert jwks["keys"], "no signing key is published"
    kids = [key["kid"] for key in jwks["keys"]]
    assert len(set(kids)) == len(kids)
    for key in jwks["keys"]:
        assert key["use"] == "sig" and key["alg"] in ("PS256", "ES256"), key
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(key), "private or symmetric key material"
        if key["kty"] == "RSA":
            modulus = base64.urlsafe_b64decode(key["n"] + "=" * (-len(key["n"]) % 4))
            assert int.from_bytes(modulus, "big").bit_length() >= 2048
        else:
            assert (key["kty"], key["crv"]) == ("EC", "P-256"), key


async def test_the_code_exchange_needs_a_client_assertion_of_its_own(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    """FAPI2SPFinalEnsureClientAssertionInTokenEndpoint (FAPI 2.0 SP s5.3.2.1; RFC 7523 s2.2)."""
    client, pushed, params, _ = await _approved(full_server, register_client, shared_platform)
    code = params["code"]
    without = {k: v for k, v in code_form(client, full_server, code, pushed.verifier).items() if "assertion" not in k}

    refused = await full_server.http().post(TOKEN_PATH, data={**without, "client_id": client.client_id})

    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client", refused.text
    assert "access_token" not in refused.json()
    await _redeem(full_server, client, pushed, code)  # the code was good: only the authentication was missing


async def test_the_code_exchange_refuses_a_client_id_other_than_the_authenticated_one(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    """FAPI2SPFinalEnsureClientIdInTokenEndpoint (RFC 6749 s3.2.1; RFC 7523 s3 item 2)."""
    client, pushed, params, _ = await _approved(full_server, register_client, shared_platform)
    code = params["code"]
    other = await register_client()

    refused = await full_server.http().post(
        TOKEN_PATH, data={**code_form(client, full_server, code, pushed.verifier), "client_id": other.client_id}
    )

    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client", refused.text
    await _redeem(full_server, client, pushed, code)


async def test_the_code_exchange_without_a_client_certificate_issues_nothing(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform, pki: Pki
) -> None:
    """FAPI2SPFinalEnsureHolderOfKeyRequired (FAPI 2.0 SP s5.3.2.1: sender-constrained tokens only; RFC 8705 s3)."""
    client, pushed, params, _ = await _approved(full_server, register_client, shared_platform)
    code = params["code"]

    refused = await full_server.http(cert=None).post(
        TOKEN_PATH, data=code_form(client, full_server, code, pushed.verifier)
    )

    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request", refused.text
    assert "certificate" in refused.json()["error_description"]
    tokens = await _redeem(full_server, client, pushed, code)
    claims = await _claims(full_server, tokens["access_token"])
    assert claims["cnf"] == {"x5t#S256": certificate_thumbprint_s256(pki.certificate("tpp"))}


async def test_a_pushed_request_authenticated_with_another_clients_key_is_refused(
    full_server: RunningAS, register_client: RegisterClient
) -> None:
    """FAPI2SPFinalEnsureMatchingKeyInAuthorizationRequest: with no request objects, PAR's client assertion."""
    client, other = await register_client(), await register_client()
    assert other.key is not None
    form = _par_form(client, full_server, client_assertion_type=JWT_BEARER_ASSERTION)

    signed_by_other = await full_server.http().post(
        PAR_PATH, data={**form, "client_assertion": client_assertion(client, full_server.issuer, key=other.key)}
    )
    signed_by_own = await full_server.http().post(
        PAR_PATH, data={**form, "client_assertion": client_assertion(client, full_server.issuer)}
    )

    assert signed_by_other.status_code == 401 and signed_by_other.json()["error"] == "invalid_client"
    assert signed_by_own.status_code == 201, signed_by_own.text


async def _intent_id(
    which: str, running: RunningAS, client: RegisteredClient, other: RegisteredClient, platform: Platform
) -> str:
    """An openbanking_intent_id no pushed request of `client` may carry, for the reason `which`."""
    if which == "unknown":
        return f"aac-{uuid.uuid4()}"
    if which == "another-clients":
        return (await access_consent(platform, other.client_id)).id
    consent = await access_consent(platform, client.client_id)
    await approve(running, client, await push(running, client, consent=consent), await new_enrolled_customer(platform))
    return consent.id


@pytest.mark.parametrize(
    ("which", "member"), [("unknown", "id_token"), ("another-clients", "userinfo"), ("already-authorised", "id_token")]
)
async def test_an_intent_id_naming_no_consent_awaiting_this_client_fails_the_push(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform, which: str, member: str
) -> None:
    """FAPI2SPFinalEnsureServerHandlesNonMatchingIntentId (UK OB: the intent id in `claims`, OIDC Core s5.5)."""
    client, other = await register_client(), await register_client()
    intent = await _intent_id(which, full_server, client, other, shared_platform)
    claims = {member: {"openbanking_intent_id": {"value": intent, "essential": True}}}
    form = _par_form(client, full_server, claims=json.dumps(claims))

    response = await full_server.http().post(PAR_PATH, data={**form, **assertion_form(client, full_server.issuer)})

    assert response.status_code == 400 and response.json()["error"] == "invalid_request", response.text
    assert intent in response.json()["error_description"]


async def test_state_and_nonce_sent_only_outside_the_pushed_request_are_not_used(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    """FAPI2SPFinalStateOnlyOutsideRequestObjectNotUsed: the pushed request is the whole request (RFC 9126 s4)."""
    client = await register_client()
    pushed = await push(
        full_server, client, consent=await access_consent(shared_platform, client.client_id), state=None, nonce=None
    )
    start = "/oauth2/authorize?" + urlencode(
        {"client_id": client.client_id, "request_uri": pushed.request_uri, "state": "outside", "nonce": "outside"}
    )
    browser = full_server.http(cert=None)
    page = await sign_in_to_consent(browser, start, await new_enrolled_customer(shared_platform))

    params = redirect_params(await browser.post(DECISION_PATH, data=decision_form(page, "approve")))
    tokens = await _redeem(full_server, client, pushed, params["code"])

    assert "state" not in params and params["iss"] == full_server.issuer
    assert "nonce" not in await _claims(full_server, tokens["id_token"])


# RFC 6749 appendix A.5: state is any VSCHAR; what needs escaping in a URL must come back intact.
AWKWARD_STATE = "s p+a&c=e/?#%~" + "x" * 2034


@pytest.mark.parametrize(
    ("state", "nonce"),
    [("state-1", "n" * 64), ("state-2", "N" * 2048), (AWKWARD_STATE, "nonce-3")],
    ids=["64-char-nonce", "long-nonce", "long-state"],
)
async def test_nonce_and_state_up_to_the_limit_round_trip_untouched(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform, state: str, nonce: str
) -> None:
    """FAPI2SPFinalEnsureAuthorizationRequestWith64CharNonceSuccess, ...WithLongNonce, ...WithLongState."""
    client, pushed, params, _ = await _approved(full_server, register_client, shared_platform, state=state, nonce=nonce)
    tokens = await _redeem(full_server, client, pushed, params["code"])

    assert params["state"] == state and params["iss"] == full_server.issuer
    assert (await _claims(full_server, tokens["id_token"]))["nonce"] == nonce


async def test_a_refreshed_access_token_stays_bound_to_the_certificate_and_the_consent(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform, pki: Pki
) -> None:
    """FAPI2SPFinalRefreshToken: the new access token is as sender-constrained as the first (RFC 8705 s3)."""
    client, pushed, params, consent = await _approved(full_server, register_client, shared_platform)
    first = await _redeem(full_server, client, pushed, params["code"])
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}

    without_certificate = await full_server.http(cert=None).post(
        TOKEN_PATH, data={**refresh, **assertion_form(client, full_server.issuer)}
    )
    refreshed = await full_server.http().post(
        TOKEN_PATH, data={**refresh, **assertion_form(client, full_server.issuer)}
    )

    assert without_certificate.status_code == 400, without_certificate.text
    assert "access_token" not in without_certificate.json()
    assert refreshed.status_code == 200, refreshed.text
    token = refreshed.json()["access_token"]
    before, after = await _claims(full_server, first["access_token"]), await _claims(full_server, token)
    assert after["cnf"] == {"x5t#S256": certificate_thumbprint_s256(pki.certificate("tpp"))}
    assert (after["sub"], after["consent_id"], after["scope"]) == (before["sub"], consent.id, before["scope"])
    assert after["jti"] != before["jti"]
    own = await full_server.http().get(USERINFO_PATH, headers=_bearer(token))
    other = await full_server.http("other").get(USERINFO_PATH, headers=_bearer(token))
    assert own.status_code == 200 and own.json()["openbanking_intent_id"] == consent.id
    assert other.status_code == 401 and other.json()["error"] == "invalid_token"


async def test_identity_claims_asked_for_in_the_claims_parameter_do_not_break_the_flow(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    """FAPI2SPFinalTestClaimsParameterIdentityClaims (OIDC Core s5.5: claims not supported are omitted)."""
    asked = {
        "id_token": {"name": {"essential": True}, "email": None, "openbanking_intent_id": {"essential": True}},
        "userinfo": {"given_name": None, "phone_number": {"essential": True}, "openbanking_intent_id": None},
    }
    document = (await full_server.http(None).get(OPENID_CONFIGURATION_PATH)).json()
    client, pushed, params, consent = await _approved(
        full_server, register_client, shared_platform, claims=json.dumps(asked)
    )

    tokens = await _redeem(full_server, client, pushed, params["code"])
    id_token = await _claims(full_server, tokens["id_token"])
    userinfo = await full_server.http().get(USERINFO_PATH, headers=_bearer(tokens["access_token"]))

    # Only advertised claims come back, each true: the intent asked for without a value is the consent's.
    assert set(id_token) <= REGISTERED_CLAIMS | set(document["claims_supported"]), id_token
    assert id_token["openbanking_intent_id"] == consent.id
    assert userinfo.status_code == 200, userinfo.text
    assert set(userinfo.json()) <= {"sub", *document["claims_supported"]}
    assert userinfo.json() == {"sub": id_token["sub"], "openbanking_intent_id": consent.id}


async def test_an_essential_sca_acr_claim_demands_sca_and_is_reported_in_the_tokens(
    full_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    """FAPI2SPFinalTestEssentialAcrScaClaim (OIDC Core s5.5.1.1: an essential acr must be satisfied)."""
    client = await register_client()
    asked = {"id_token": {"acr": {"essential": True, "values": [ACR_SCA]}}}
    pushed = await push(
        full_server, client, consent=await access_consent(shared_platform, client.client_id), claims=json.dumps(asked)
    )
    plain = await push(full_server, client, consent=await access_consent(shared_platform, client.client_id))
    browser = full_server.http(cert=None)

    unasked = await full_server.http(cert=None).get(authorize_path(client, plain))
    started = await browser.get(authorize_path(client, pushed))
    page = await complete_sign_in(browser, started.headers["location"], await new_enrolled_customer(shared_platform))
    params = redirect_params(await browser.post(DECISION_PATH, data=decision_form(page, "approve")))
    tokens = await _redeem(full_server, client, pushed, params["code"])

    # Account access alone would let a password-only session through; the essential claim demands SCA.
    assert unasked.status_code == 303 and "sca=1" not in unasked.headers["location"]
    assert started.status_code == 303 and "sca=1" in started.headers["location"]
    id_token = await _claims(full_server, tokens["id_token"])
    access = await _claims(full_server, tokens["access_token"])
    assert id_token["acr"] == access["acr"] == ACR_SCA
    assert {"pwd", "otp"} <= set(id_token["amr"])
