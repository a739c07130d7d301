"""Every token check of the gateway, over real TLS with client certificates, against a real token issuer."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from joserfc.jwk import ECKey

from auth_server.oauth.jose import sign_jwt
from auth_server.oauth.tokens.models import SubjectKind
from obank.database import unit_of_work
from obank.principal import PRINCIPAL_HEADER, InternalAssertions, Principal
from tests.auth_server.oauth.conftest import Pki, hmac_token, pki, shared_database_url, unsigned_token
from tests.gateway.harness import RunningGateway, serving_gateway

__all__ = ["pki", "shared_database_url"]

OB_ACCOUNTS = "/open-banking/v4.0/aisp/accounts"


@pytest.fixture(scope="module")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory, shared_database_url: str, pki: Pki, redis_url: str
) -> AsyncIterator[RunningGateway]:
    async with serving_gateway(
        tmp_path_factory.mktemp("gateway"), shared_database_url, pki, redis_url=redis_url
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def first_party(gateway: RunningGateway) -> str:
    return await gateway.client_id(first_party=True)


@pytest.fixture(scope="module")
async def tpp(gateway: RunningGateway) -> str:
    return await gateway.client_id(first_party=False)


def challenge(response: httpx.Response) -> str:
    return str(response.headers.get("www-authenticate", ""))


async def test_a_first_party_token_reads_the_customers_accounts(gateway: RunningGateway, first_party: str) -> None:
    customer = str(uuid.uuid4())
    token = await gateway.token(first_party, subject=customer)
    response = await gateway.http().get("/api/v1/accounts", headers={"authorization": f"Bearer {token}"})
    # The customer id is new to core banking: an empty list proves the request passed and reached it.
    assert response.status_code == 200, response.text
    assert response.json() == []
    assert response.headers["cache-control"] == "no-store"
    assert uuid.UUID(response.headers["x-fapi-interaction-id"])


async def test_no_token_gets_a_bare_bearer_challenge(gateway: RunningGateway) -> None:
    response = await gateway.http().get("/api/v1/accounts")
    assert response.status_code == 401
    assert challenge(response) == 'Bearer realm="obank"'
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_token_in_the_query_string_is_refused(gateway: RunningGateway, first_party: str) -> None:
    token = await gateway.token(first_party, subject=str(uuid.uuid4()))
    response = await gateway.http().get("/api/v1/accounts", params={"access_token": token})
    assert response.status_code == 400
    assert 'error="invalid_request"' in challenge(response) or response.json()["code"] == "token_in_query"
    assert token not in response.text


async def test_a_certificate_bound_token_works_only_over_its_own_certificate(gateway: RunningGateway, tpp: str) -> None:
    token = await gateway.token(tpp, subject=str(uuid.uuid4()), cert="tpp", scopes=("accounts",))
    headers = {"authorization": f"Bearer {token}"}
    passed = await gateway.http("tpp").get(OB_ACCOUNTS, headers=headers)
    # Past every check of the gateway: open_banking itself refuses a token bound to no consent, in OB format.
    assert passed.status_code == 403, passed.text
    assert passed.json()["Errors"][0]["ErrorCode"] == "AG01"
    for cert, reason in (("other", "another certificate"), (None, "present the certificate")):
        refused = await gateway.http(cert).get(OB_ACCOUNTS, headers=headers)
        assert refused.status_code == 401
        assert 'error="invalid_token"' in challenge(refused)
        assert refused.content == b""  # UK OB profile: no error body for an invalid token
        assert reason in challenge(refused)


@pytest.mark.parametrize(
    "path", [OB_ACCOUNTS, "/admin/v1/customers/" + str(uuid.uuid4())], ids=["open-banking", "admin"]
)
async def test_an_unbound_token_is_refused_outside_first_party_routes(
    gateway: RunningGateway, first_party: str, path: str
) -> None:
    token = await gateway.token(first_party, subject=str(uuid.uuid4()), kind=SubjectKind.STAFF, roles=["admin"])
    response = await gateway.http("tpp").get(path, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "certificate-bound" in challenge(response)


async def test_a_tpp_token_is_refused_on_first_party_routes(gateway: RunningGateway, tpp: str) -> None:
    token = await gateway.token(tpp, subject=str(uuid.uuid4()), cert="tpp")
    response = await gateway.http("tpp").get("/api/v1/accounts", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "own apps" in challenge(response)


async def test_forged_and_foreign_tokens_are_refused(gateway: RunningGateway, first_party: str) -> None:
    now = int(time.time())
    claims = {
        "iss": gateway.issuer,
        "sub": str(uuid.uuid4()),
        "customer_id": str(uuid.uuid4()),
        "aud": gateway.issuer,
        "client_id": first_party,
        "subject_kind": "customer",
        "first_party": True,
        "scope": "openid accounts",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    stranger = ECKey.generate_key("P-256", private=True)
    unknown_key = sign_jwt({"alg": "ES256", "typ": "at+jwt", "kid": "not-ours"}, claims, stranger)
    kid, _ = await gateway.tokens.keys.signing_key("ES256")
    reused_kid = sign_jwt({"alg": "ES256", "typ": "at+jwt", "kid": kid}, claims, stranger)
    cases = {
        "unknown key": unknown_key,
        "our kid, another key": reused_kid,
        "alg none": unsigned_token(claims),
        "HS256": hmac_token(claims, b"k" * 32),
        "expired": await gateway.forged(
            {"typ": "at+jwt"}, {**claims, "iat": now - 900, "nbf": now - 900, "exp": now - 600}
        ),
        "other audience": await gateway.forged({"typ": "at+jwt"}, {**claims, "aud": "https://elsewhere.example"}),
        "other issuer": await gateway.forged({"typ": "at+jwt"}, {**claims, "iss": "https://elsewhere.example"}),
        "an ID token": await gateway.forged({"typ": "JWT"}, claims),
        "not yet valid": await gateway.forged({"typ": "at+jwt"}, {**claims, "nbf": now + 600, "iat": now + 600}),
        "garbage": "a.b.c",
    }
    http = gateway.http()
    for label, token in cases.items():
        response = await http.get("/api/v1/accounts", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 401, label
        assert 'error="invalid_token"' in challenge(response), label
        for leak in (token, kid, "Traceback"):
            assert leak not in response.text, label
            assert leak not in challenge(response), label
    control = await gateway.forged({"typ": "at+jwt"}, claims)
    response = await http.get("/api/v1/accounts", headers={"authorization": f"Bearer {control}"})
    assert response.status_code == 200, "the same claims, properly signed, pass"


async def test_missing_scope_is_403_insufficient_scope(gateway: RunningGateway, first_party: str) -> None:
    token = await gateway.token(first_party, subject=str(uuid.uuid4()), scopes=("openid", "accounts"))
    response = await gateway.http().post(
        "/api/v1/transfers", headers={"authorization": f"Bearer {token}", "idempotency-key": str(uuid.uuid4())}, json={}
    )
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in challenge(response)
    assert 'scope="payments"' in challenge(response)


async def test_revoking_the_consent_refuses_the_next_request(gateway: RunningGateway, tpp: str) -> None:
    consent = f"aac-{uuid.uuid4()}"
    token = await gateway.token(tpp, subject=str(uuid.uuid4()), cert="tpp", scopes=("accounts",), consent_id=consent)
    http = gateway.http("tpp")
    headers = {"authorization": f"Bearer {token}"}
    assert (await http.get(OB_ACCOUNTS, headers=headers)).status_code == 403  # past the gateway: no such consent
    async with unit_of_work(gateway.platform.sessions) as session:
        until = datetime.now(UTC) + timedelta(minutes=5)
        await gateway.platform.revocations.revoke(session, [f"consent:{consent}"], until)
    response = await http.get(OB_ACCOUNTS, headers=headers)
    assert response.status_code == 401
    assert "withdrawn" in challenge(response)


async def test_staff_routes_need_the_role_and_strong_authentication(gateway: RunningGateway, tpp: str) -> None:
    path = "/admin/v1/customers/" + str(uuid.uuid4())
    http = gateway.http("tpp")
    support = await gateway.token(tpp, subject="staff-1", kind=SubjectKind.STAFF, cert="tpp", roles=["support"])
    assert (await http.get(path, headers={"authorization": f"Bearer {support}"})).status_code == 404
    refused = await http.post(
        "/admin/v1/accounts/" + str(uuid.uuid4()) + "/deposits", headers={"authorization": f"Bearer {support}"}, json={}
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_role"
    weak = await gateway.token(
        tpp, subject="staff-2", kind=SubjectKind.STAFF, cert="tpp", roles=["admin"], acr="urn:openbanking:psd2:ca"
    )
    response = await http.get(path, headers={"authorization": f"Bearer {weak}"})
    assert response.status_code == 401
    assert 'error="insufficient_user_authentication"' in challenge(response)
    customer = await gateway.token(tpp, subject=str(uuid.uuid4()), cert="tpp")
    assert (await http.get(path, headers={"authorization": f"Bearer {customer}"})).status_code == 403


async def test_a_forged_internal_assertion_from_outside_is_dropped(gateway: RunningGateway) -> None:
    forger = InternalAssertions(ECKey.generate_key("P-256", private=True))
    principal = Principal(subject=str(uuid.uuid4()), kind="customer", interaction_id=str(uuid.uuid4()))
    response = await gateway.http().get(
        "/api/v1/accounts", headers={PRINCIPAL_HEADER: forger.sign(principal, "core_banking")}
    )
    assert response.status_code == 401
    assert challenge(response) == 'Bearer realm="obank"'


async def test_oversized_bodies_are_refused_before_any_upstream(gateway: RunningGateway, first_party: str) -> None:
    token = await gateway.token(first_party, subject=str(uuid.uuid4()))
    body = b"x" * (gateway.platform.settings.max_request_body_bytes + 1)
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    response = await gateway.http().post("/api/v1/transfers", headers=headers, content=body)
    assert response.status_code == 413
    chunked = await gateway.http().post("/api/v1/transfers", headers=headers, content=_chunks(body))
    assert chunked.status_code == 413


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 65_536):
        yield body[start : start + 65_536]


async def test_unknown_protected_paths_are_404_not_passed_through(gateway: RunningGateway) -> None:
    response = await gateway.http().get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    # A method no policy row admits is the gateway's own 405, before any token is asked for.
    response = await gateway.http().patch("/api/v1/accounts")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
