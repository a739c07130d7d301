"""UK Open Banking message signing (R/W API Profile, "Message Signing"): the TPP's `x-jws-signature` verified
over the exact body before anything is done, and the bank's on every Payment Initiation response, verifiable
with the key published at the authorization server's `jwks_uri`, across a rotation of the keys.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import text

from audit.trail import platform_units
from auth_server import facade as auth_server_facade
from auth_server.oauth.app import create_oauth_app
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.clients.schemas import ClientMetadata
from auth_server.oauth.config import JWKS_PATH
from auth_server.oauth.keys import service as keys_service
from auth_server.oauth.server import OAuthServer
from core_banking.consents.models import ConsentStatus
from core_banking.facade import InProcessCoreBanking
from obank.actor import Actor
from obank.correlation import CorrelationMiddleware
from obank.database import unit_of_work
from obank.runtime import Platform
from open_banking import signing
from open_banking.app import create_app
from open_banking.families import AISP, CBPII, PISP
from open_banking.negotiation import OBRoute
from open_banking.signing import OB_IAT, OB_ISS, OB_TAN, SIGNATURE_HEADER, MessageSigning
from tests.open_banking.conftest import BASE_URL
from tests.open_banking.contract import Contract, spec_document
from tests.open_banking.message_signing import tpp_signature, verify_bank_signature
from tests.open_banking.pisp.conftest import (
    CONSENTS,
    JSON,
    PAYMENTS,
    TPP,
    AuthorisedConsent,
    Debtor,
    authorised_consent,
    consent_body,
    consent_token,
    debtor,
    key,
    payment_body,
    pisp_headers,
    registered_tpps,
    tpp_key,
)

__all__ = ["authorised_consent", "consent_token", "debtor", "pisp_headers", "registered_tpps"]

Headers = Callable[..., dict[str, str]]
pytestmark = pytest.mark.usefixtures("registered_tpps")


@pytest.fixture
async def oauth(platform: Platform) -> AsyncIterator[tuple[OAuthServer, FastAPI]]:
    """The authorization server of this process: its JWK Set is where TPPs find the bank's message key."""
    server = OAuthServer.build(platform)
    yield server, create_oauth_app(platform, server)
    await server.close()


@pytest.fixture
def app(platform: Platform, core_banking: InProcessCoreBanking, oauth: tuple[OAuthServer, FastAPI]) -> FastAPI:
    """open_banking as `obank serve` builds it: over the OAuth server's keys and clients."""
    return create_app(platform, core_banking, auth_server_facade.sharing(platform, oauth[0]))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=CorrelationMiddleware(app), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


@pytest.fixture
def trust_anchor(app: FastAPI) -> str:
    message_signing: MessageSigning = app.state.message_signing
    return message_signing.trust_anchor


async def published_keys(oauth: tuple[OAuthServer, FastAPI]) -> dict[str, Any]:
    """The JWK Set at the issuer's jwks_uri, as a TPP fetches it."""
    transport = httpx.ASGITransport(app=oauth[1])
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        response = await http.get(JWKS_PATH)
    assert response.status_code == 200
    jwks: dict[str, Any] = response.json()
    return jwks


def signed_by_tpp(body: dict[str, Any], trust_anchor: str, **options: Any) -> tuple[bytes, dict[str, str]]:
    """The exact bytes sent and the headers of a request signed by the TPP's registered key."""
    content = json.dumps(body, separators=(",", ":")).encode()
    signature = tpp_signature(content, tpp_key(TPP), iss=TPP, tan=trust_anchor, **options)
    return content, {**JSON, SIGNATURE_HEADER: signature, "x-idempotency-key": key()}


async def count(platform: Platform, table: str) -> int:
    async with unit_of_work(platform.sessions) as session:
        return int(await session.scalar(text(f"SELECT count(*) FROM core_banking.{table}")) or 0)


def error_of(response: httpx.Response) -> tuple[str, str]:
    [error] = response.json()["Errors"]
    return error["ErrorCode"], error["Path"]


async def test_a_signed_consent_is_created_and_the_answer_is_signed_by_the_bank(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    trust_anchor: str,
    oauth: tuple[OAuthServer, FastAPI],
    contract: Contract,
    app: FastAPI,
) -> None:
    bank_issuer = app.state.message_signing.issuer
    content, headers = signed_by_tpp(consent_body(), trust_anchor)

    response = await client.post(CONSENTS, content=content, headers=pisp_headers(**headers))

    assert response.status_code == 201, response.text
    contract.check(response)
    header = verify_bank_signature(response, await published_keys(oauth))
    assert header["alg"] == "PS256" and header["typ"] == "JOSE"
    assert header["crit"] == [OB_IAT, OB_ISS, OB_TAN]
    assert header[OB_TAN] == trust_anchor and header[OB_ISS] == bank_issuer
    assert abs(header[OB_IAT] - time.time()) < 60
    published = {k["kid"]: k for k in (await published_keys(oauth))["keys"]}
    assert published[header["kid"]]["alg"] == "PS256" and published[header["kid"]]["use"] == "sig"


def _other_key_same_kid() -> RSAKey:
    forger = RSAKey.generate_key(2048, private=True)
    forger.ensure_kid()
    return forger


Refusal = tuple[str, Callable[[bytes, str], tuple[bytes, str | None]], str]


def _sign(content: bytes, tan: str, *, iss: str = TPP, **options: Any) -> str:
    return tpp_signature(content, tpp_key(TPP), iss=iss, tan=tan, **options)


REFUSALS: list[Refusal] = [
    ("missing", lambda c, t: (c, None), "U019"),
    ("not a JWS", lambda c, t: (c, "not-a-jws"), "U018"),
    ("header not JSON", lambda c, t: (c, "bm90LWpzb24.." + _sign(c, t).split(".")[2]), "U018"),
    ("attached payload", lambda c, t: (c, _sign(c, t).replace("..", ".e30.")), "U018"),
    (
        "wrong key",
        lambda c, t: (
            c,
            tpp_signature(c, _other_key_same_kid(), iss=TPP, tan=t, kid=tpp_key(TPP).kid),
        ),
        "U015",
    ),
    ("body altered after signing", lambda c, t: (c.replace(b"10.50", b"99.50"), _sign(c, t)), "U015"),
    ("wrong iss", lambda c, t: (c, _sign(c, t, iss="tpp-2")), "U016"),
    ("wrong tan", lambda c, t: (c, _sign(c, "openbanking.org.uk")), "U016"),
    ("stale iat", lambda c, t: (c, _sign(c, t, iat=int(time.time()) - 3600)), "U016"),
    ("iat in the future", lambda c, t: (c, _sign(c, t, iat=int(time.time()) + 3600)), "U016"),
    ("crit lacks tan", lambda c, t: (c, _sign(c, t, crit=[OB_IAT, OB_ISS])), "U017"),
    ("no crit", lambda c, t: (c, _sign(c, t, omit=("crit",))), "U017"),
    ("no iat claim", lambda c, t: (c, _sign(c, t, omit=(OB_IAT,), crit=[OB_ISS, OB_TAN])), "U017"),
    ("no kid", lambda c, t: (c, _sign(c, t, omit=("kid",))), "U017"),
    ("extra crit", lambda c, t: (c, _sign(c, t, crit=[OB_IAT, OB_ISS, OB_TAN, "exp"], exp=1)), "U016"),
    ("b64 header", lambda c, t: (c, _sign(c, t, b64=True)), "U016"),
    ("typ not JOSE", lambda c, t: (c, _sign(c, t, typ="JWT")), "U016"),
    ("unknown kid", lambda c, t: (c, _sign(c, t, kid="no-such-key")), "U016"),
]


@pytest.mark.parametrize(("case", "make", "code"), REFUSALS, ids=[case for case, _, _ in REFUSALS])
async def test_a_consent_whose_signature_fails_is_refused_and_nothing_is_created(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    trust_anchor: str,
    platform: Platform,
    oauth: tuple[OAuthServer, FastAPI],
    contract: Contract,
    case: str,
    make: Callable[[bytes, str], tuple[bytes, str | None]],
    code: str,
) -> None:
    content = json.dumps(consent_body(), separators=(",", ":")).encode()
    sent, signature = make(content, trust_anchor)
    headers = {**JSON, "x-idempotency-key": key()}
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature

    response = await client.post(CONSENTS, content=sent, headers=pisp_headers(**headers))

    assert response.status_code == 400, (case, response.text)
    assert error_of(response) == (code, SIGNATURE_HEADER), case
    contract.check(response, request_conforms=False)
    verify_bank_signature(response, await published_keys(oauth))  # the refusal is signed too
    assert await count(platform, "consents") == 0


async def test_a_payment_whose_body_was_altered_is_refused_and_the_consent_stays_unused(
    client: httpx.AsyncClient,
    consent_token: Headers,
    authorised_consent: AuthorisedConsent,
    debtor: Debtor,
    trust_anchor: str,
    platform: Platform,
    core_banking: InProcessCoreBanking,
) -> None:
    consent = await authorised_consent()
    content, headers = signed_by_tpp(payment_body(consent.id), trust_anchor)
    altered = content.replace(b"10.50", b"10.51")

    response = await client.post(
        PAYMENTS, content=altered, headers=consent_token(consent.id, debtor.customer_id, **headers)
    )

    assert response.status_code == 400, response.text
    assert error_of(response) == ("U015", SIGNATURE_HEADER)
    assert await count(platform, "payments") == 0
    assert (await core_banking.get_consent(consent.id)).status is ConsentStatus.AUTHORISED

    paid = await client.post(
        PAYMENTS, content=content, headers=consent_token(consent.id, debtor.customer_id, **headers)
    )
    assert paid.status_code == 201, paid.text


async def test_a_tpp_with_no_ps256_key_cannot_sign(
    client: httpx.AsyncClient, pisp_headers: Headers, trust_anchor: str, platform: Platform
) -> None:
    es256 = ECKey.generate_key("P-256", private=True)
    es256.ensure_kid()
    async with platform_units(platform).begin(Actor.system("test")) as uow:
        await clients_service.register_client(
            uow,
            ClientMetadata(
                client_name="An ES256 TPP",
                redirect_uris=["https://tpp.example/callback"],
                grant_types=["client_credentials"],
                scope="payments",
                jwks={"keys": [{**es256.as_dict(private=False), "kid": es256.kid, "use": "sig"}]},
            ),
            client_id="tpp-es256",
        )
    content = json.dumps(consent_body()).encode()
    # Signed by its (RSA) key under the kid of its registered EC key: no PS256 key has that kid.
    forged = tpp_signature(content, tpp_key(TPP), iss="tpp-es256", tan=trust_anchor, kid=es256.kid)

    response = await client.post(
        CONSENTS,
        content=content,
        headers=pisp_headers("tpp-es256", **JSON, **{SIGNATURE_HEADER: forged, "x-idempotency-key": key()}),
    )

    assert response.status_code == 400, response.text
    assert error_of(response) == ("U016", SIGNATURE_HEADER)


async def test_every_payment_initiation_answer_is_signed_and_others_are_not(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    authorised_consent: AuthorisedConsent,
    oauth: tuple[OAuthServer, FastAPI],
    tpp_headers: Headers,
) -> None:
    consent = await authorised_consent()
    jwks = await published_keys(oauth)

    read = await client.get(f"{CONSENTS}/{consent.id}", headers=pisp_headers())
    unknown = await client.get(f"{CONSENTS}/pdc-nothing", headers=pisp_headers())
    no_route = await client.get(f"{PISP.prefix}/nothing-here", headers=pisp_headers())
    unauthorised = await client.get(f"{CONSENTS}/{consent.id}")
    accounts = await client.get(f"{AISP.prefix}/accounts", headers=tpp_headers())

    for response in (read, unknown, no_route):
        header = verify_bank_signature(response, jwks)
        assert header["kid"] in {k["kid"] for k in jwks["keys"]}
    assert (read.status_code, unknown.status_code, no_route.status_code) == (200, 400, 404)
    assert unauthorised.status_code == 401 and SIGNATURE_HEADER not in unauthorised.headers  # no body to sign
    assert SIGNATURE_HEADER not in accounts.headers


async def test_the_signature_covers_the_exact_bytes(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    authorised_consent: AuthorisedConsent,
    oauth: tuple[OAuthServer, FastAPI],
) -> None:
    consent = await authorised_consent()
    response = await client.get(f"{CONSENTS}/{consent.id}", headers=pisp_headers())
    jwks = await published_keys(oauth)
    verify_bank_signature(response, jwks)

    reserialised = httpx.Response(
        200, headers=response.headers, content=json.dumps(response.json(), indent=1).encode(), request=response.request
    )
    with pytest.raises(BadSignatureError):
        verify_bank_signature(reserialised, jwks)


async def test_signatures_made_before_a_rotation_still_verify_while_the_old_key_is_published(
    client: httpx.AsyncClient,
    pisp_headers: Headers,
    authorised_consent: AuthorisedConsent,
    oauth: tuple[OAuthServer, FastAPI],
    platform: Platform,
) -> None:
    server, _ = oauth
    consent = await authorised_consent()
    before = await client.get(f"{CONSENTS}/{consent.id}", headers=pisp_headers())

    async with platform_units(platform).begin(Actor.system("test")) as uow:
        await keys_service.rotate_signing_keys(uow, server.config)
    server.keys.invalidate()  # as every process does within its cache period
    after = await client.get(f"{CONSENTS}/{consent.id}", headers=pisp_headers())

    jwks = await published_keys(oauth)
    old, new = verify_bank_signature(before, jwks), verify_bank_signature(after, jwks)
    assert old["kid"] != new["kid"]
    message_keys = [k for k in jwks["keys"] if k["kid"] in (old["kid"], new["kid"])]
    assert len(message_keys) == 2

    # A day on, the retired message key leaves the JWK Set; a signature of it can no longer be checked.
    async with unit_of_work(platform.sessions) as session:
        await session.execute(
            text("UPDATE auth_server.signing_keys SET publish_until = now() - interval '1 second' WHERE kid = :kid"),
            {"kid": old["kid"]},
        )
    server.keys.invalidate()
    assert old["kid"] not in {k["kid"] for k in (await published_keys(oauth))["keys"]}


async def test_the_gateway_never_takes_a_message_key_for_a_token_key(oauth: tuple[OAuthServer, FastAPI]) -> None:
    server, _ = oauth
    message_kid, _ = await server.keys.message_signing_key()

    assert message_kid in {k["kid"] for k in (await server.keys.jwks())["keys"]}
    assert message_kid not in {k["kid"] for k in (await server.keys.token_jwks())["keys"]}
    assert message_kid not in {k.kid for k in (await server.keys.verification_keys()).keys}


def _depends_on(dependant: Dependant, call: object) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def test_signing_follows_the_specs(app: FastAPI) -> None:
    """Exactly the operations the v4.0 files mark: every PISP POST takes a signed request, no AISP or CBPII one."""
    for family, spec in (
        (PISP, "payment-initiation-openapi.json"),
        (AISP, "account-info-openapi.json"),
        (CBPII, "confirmation-funds-openapi.json"),
    ):
        document = spec_document(spec)
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                if method not in ("get", "post", "put", "delete", "patch"):
                    continue
                names = {_parameter(document, p).get("name", "").lower() for p in operation.get("parameters", [])}
                assert (SIGNATURE_HEADER in names) == (family is PISP and method == "post"), (path, method)
    routes = [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith("/open-banking/v4.0/")]
    for route in routes:
        signed = _depends_on(route.dependant, signing._verified_request)
        expected = route.path.startswith(PISP.prefix + "/") and "POST" in (route.methods or ())
        assert signed == expected, route.path


def _parameter(document: dict[str, Any], parameter: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in parameter:
        return parameter
    resolved: dict[str, Any] = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
    return resolved


async def test_a_tpp_whose_jwks_uri_does_not_answer_is_refused(
    client: httpx.AsyncClient, pisp_headers: Headers, trust_anchor: str, platform: Platform
) -> None:
    async with platform_units(platform).begin(Actor.system("test")) as uow:
        await clients_service.register_client(
            uow,
            ClientMetadata(
                client_name="A TPP with a jwks_uri",
                redirect_uris=["https://tpp.example/callback"],
                grant_types=["client_credentials"],
                scope="payments",
                jwks_uri="https://127.0.0.1:9/jwks.json",  # nothing listens on the discard port
            ),
            client_id="tpp-remote",
        )
    content = json.dumps(consent_body()).encode()
    signature = tpp_signature(content, tpp_key(TPP), iss="tpp-remote", tan=trust_anchor)

    response = await client.post(
        CONSENTS,
        content=content,
        headers=pisp_headers("tpp-remote", **JSON, **{SIGNATURE_HEADER: signature, "x-idempotency-key": key()}),
    )

    assert response.status_code == 400, response.text
    assert error_of(response) == ("U016", SIGNATURE_HEADER)


async def test_an_unexpected_failure_is_signed_too(
    app: FastAPI, client: httpx.AsyncClient, pisp_headers: Headers, oauth: tuple[OAuthServer, FastAPI]
) -> None:
    router = APIRouter(route_class=OBRoute)

    @router.get("/domestic-payments/{DomesticPaymentId}/failing")
    async def failing() -> None:
        raise RuntimeError("the secret detail 4242 of a failure")

    app.include_router(router, prefix=PISP.prefix)

    response = await client.get(f"{PISP.prefix}/domestic-payments/p-1/failing", headers=pisp_headers())

    assert response.status_code == 500
    assert "4242" not in response.text
    verify_bank_signature(response, await published_keys(oauth))
