"""Pushed authorization requests (RFC 9126, FAPI 2.0 SP s5.3.2.2) and their single, client-bound use."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from audit.trail import platform_units
from auth_server.oauth.config import PAR_PATH, TOKEN_PATH
from auth_server.oauth.errors import InvalidRequestUri
from auth_server.oauth.par.service import consume_pushed_request, get_pushed_request
from core_banking import facade as core_banking
from obank.database import unit_of_work
from obank.money import Money
from obank.runtime import Platform
from tests.auth_server.helpers import TEST_ACTOR
from tests.auth_server.oauth.conftest import REDIRECT_URI, RegisterClient, RegisteredClient, RunningAS, assertion_form
from tests.auth_server.oauth.flow import in_process

VERIFIER = secrets.token_urlsafe(48)
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


def authorization_request(**overrides: str | None) -> dict[str, str]:
    request: dict[str, str | None] = {
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid accounts",
        "state": "s" * 80,
        "nonce": "n" * 80,
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **overrides,
    }
    return {name: value for name, value in request.items() if value is not None}


async def _push(
    auth_server: RunningAS, client: RegisteredClient | None, cert: str | None = "tpp", **overrides: str | None
) -> Any:
    form = authorization_request(**overrides)
    if client is not None:
        form.update(assertion_form(client, auth_server.issuer))
    return await auth_server.http(cert).post(PAR_PATH, data=form)


def _error(response: Any, status: int, error: str, fragment: str = "") -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert fragment in response.json().get("error_description", "")


async def test_a_pushed_request_returns_a_short_lived_request_uri(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()

    response = await _push(auth_server, client)

    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert 0 < body["expires_in"] < 600
    async with unit_of_work(shared_platform.sessions) as session:
        pushed = await get_pushed_request(session, body["request_uri"], client.client_id)
    # Long state and nonce come back untouched; PKCE is what was sent.
    assert (pushed.state, pushed.nonce) == ("s" * 80, "n" * 80)
    assert (pushed.code_challenge, pushed.code_challenge_method) == (CHALLENGE, "S256")
    assert pushed.redirect_uri == REDIRECT_URI
    assert pushed.scopes == ("openid", "accounts")


async def test_a_request_uri_is_used_once_by_the_client_that_pushed_it(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    other = await register_client()
    request_uri = (await _push(auth_server, client)).json()["request_uri"]

    units = platform_units(shared_platform)
    async with units.begin(TEST_ACTOR) as uow:
        with pytest.raises(InvalidRequestUri, match="another client"):
            await consume_pushed_request(uow, request_uri, other.client_id)
    async with units.begin(TEST_ACTOR) as uow:
        # Reading it again before the login completes (a reload) is fine.
        await get_pushed_request(uow.session, request_uri, client.client_id)
        await get_pushed_request(uow.session, request_uri, client.client_id)
        consumed = await consume_pushed_request(uow, request_uri, client.client_id)
    async with units.begin(TEST_ACTOR) as uow:
        with pytest.raises(InvalidRequestUri, match="already used"):
            await consume_pushed_request(uow, request_uri, client.client_id)
        with pytest.raises(InvalidRequestUri, match="already used"):
            await get_pushed_request(uow.session, request_uri, client.client_id)
    assert consumed.client_id == client.client_id


async def test_an_expired_request_uri_is_refused(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    body = (await _push(auth_server, client)).json()
    later = datetime.now(UTC) + timedelta(seconds=body["expires_in"] + 1)

    async with platform_units(shared_platform).begin(TEST_ACTOR) as uow:
        with pytest.raises(InvalidRequestUri, match="expired"):
            await consume_pushed_request(uow, body["request_uri"], client.client_id, now=later)


async def test_pushing_needs_client_authentication(auth_server: RunningAS, register_client: RegisterClient) -> None:
    client = await register_client()

    anonymous = await _push(auth_server, None, client_id=client.client_id)

    _error(anonymous, 401, "invalid_client")


@pytest.mark.parametrize(
    ("overrides", "status", "error", "fragment"),
    [
        ({"request_uri": "urn:ietf:params:oauth:request_uri:abc"}, 400, "invalid_request", "request_uri"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, 400, "request_not_supported", ""),
        ({"redirect_uri": None}, 400, "invalid_request", "redirect_uri is required"),
        ({"redirect_uri": "https://attacker.example/callback"}, 400, "invalid_request", "not registered"),
        ({"code_challenge": None, "code_challenge_method": None}, 400, "invalid_request", "code_challenge"),
        ({"code_challenge_method": "plain"}, 400, "invalid_request", "S256"),
        ({"code_challenge_method": None}, 400, "invalid_request", "S256"),
        ({"code_challenge": "short"}, 400, "invalid_request", "code_challenge"),
        ({"response_type": None}, 400, "invalid_request", "response_type"),
        ({"response_type": "code id_token"}, 400, "unsupported_response_type", ""),
        ({"response_type": "token"}, 400, "unsupported_response_type", ""),
        ({"response_mode": "fragment"}, 400, "invalid_request", "response_mode"),
        ({"scope": "openid fundsconfirmations"}, 400, "invalid_scope", "fundsconfirmations"),
        ({"prompt": "none login"}, 400, "invalid_request", "prompt"),
        ({"max_age": "-1"}, 400, "invalid_request", "max_age"),
        ({"state": "s" * 3000}, 400, "invalid_request", "state"),
    ],
    ids=[
        "request_uri-inside",
        "request-object",
        "no-redirect_uri",
        "unregistered-redirect_uri",
        "no-pkce",
        "plain-pkce",
        "pkce-method-missing",
        "malformed-challenge",
        "no-response_type",
        "code-id_token",
        "token",
        "fragment-mode",
        "unregistered-scope",
        "prompt-none-and-login",
        "negative-max_age",
        "state-too-long",
    ],
)
async def test_invalid_pushed_requests_are_refused(
    auth_server: RunningAS,
    register_client: RegisterClient,
    overrides: dict[str, str | None],
    status: int,
    error: str,
    fragment: str,
) -> None:
    client = await register_client()

    response = await _push(auth_server, client, **overrides)

    _error(response, status, error, fragment)


async def test_repeated_parameters_and_other_verbs_are_refused(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    client = await register_client()
    pairs = [
        *authorization_request().items(),
        ("scope", "payments"),
        *assertion_form(client, auth_server.issuer).items(),
    ]

    repeated = await auth_server.http().post(
        PAR_PATH,
        content="&".join(f"{k}={v}" for k, v in pairs),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    as_json = await auth_server.http().post(PAR_PATH, json=authorization_request())
    with_get = await auth_server.http().get(PAR_PATH, params=authorization_request())

    _error(repeated, 400, "invalid_request", "repeated")
    _error(as_json, 400, "invalid_request", "x-www-form-urlencoded")
    _error(with_get, 405, "invalid_request")


async def test_a_client_without_the_code_grant_cannot_push(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    client = await register_client(grant_types=("client_credentials",), redirect_uris=[])

    _error(await _push(auth_server, client), 400, "unauthorized_client")


async def _consent(platform: Platform, client_id: str, kind: str = "payment") -> core_banking.ConsentRecord:
    if kind == "payment":
        details = core_banking.DomesticPaymentDetails(
            amount=Money(12_500, "GBP"),
            creditor=core_banking.CreditorAccount(
                "ACME Ltd", core_banking.CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, "20000055779911"
            ),
            reference="INV-42",
        )
        return await in_process(platform).create_domestic_payment_consent(client_id, details)
    access = core_banking.AccountAccessDetails(permissions=(core_banking.Permission.READ_BALANCES,))
    return await in_process(platform).create_account_access_consent(client_id, access)


def _details(kind: str, consent_id: str) -> str:
    return json.dumps([{"type": kind, "consent_id": consent_id}])


async def test_a_consent_travels_as_authorization_details_or_intent_id(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    payment = await _consent(shared_platform, client.client_id)
    access = await _consent(shared_platform, client.client_id, "access")
    intent = json.dumps({"id_token": {"openbanking_intent_id": {"value": access.id, "essential": True}}})

    by_details = await _push(
        auth_server, client, scope="openid payments", authorization_details=_details("payment_initiation", payment.id)
    )
    by_intent = await _push(auth_server, client, scope="openid accounts", claims=intent)

    assert by_details.status_code == 201, by_details.text
    assert by_intent.status_code == 201, by_intent.text
    async with unit_of_work(shared_platform.sessions) as session:
        pushed_payment = await get_pushed_request(session, by_details.json()["request_uri"], client.client_id)
        pushed_access = await get_pushed_request(session, by_intent.json()["request_uri"], client.client_id)
    assert pushed_payment.consent_id == payment.id
    assert pushed_payment.authorization_details == [{"type": "payment_initiation", "consent_id": payment.id}]
    assert pushed_access.consent_id == access.id


async def test_consents_that_cannot_be_authorised_here_fail_the_request(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    other = await register_client()
    others_consent = await _consent(shared_platform, other.client_id)
    rejected = await _consent(shared_platform, client.client_id)
    await in_process(shared_platform).reject_consent(rejected.id)
    mine = await _consent(shared_platform, client.client_id)
    intent = json.dumps({"userinfo": {"openbanking_intent_id": {"value": "pdc-someone-elses"}}})

    async def push(consent_id: str, **extra: str) -> Any:
        form = {"scope": "openid payments", "authorization_details": _details("payment_initiation", consent_id)}
        return await _push(auth_server, client, **{**form, **extra})

    _error(await push("pdc-does-not-exist"), 400, "invalid_request", "does not exist")
    _error(await push(others_consent.id), 400, "invalid_request", "does not exist")
    _error(await push(rejected.id), 400, "invalid_request", "Rejected")
    _error(await push(mine.id, scope="openid accounts"), 400, "invalid_scope", "payments")
    _error(await push(mine.id, claims=intent), 400, "invalid_request", "differ")
    wrong_type = await _push(
        auth_server, client, scope="openid payments", authorization_details=_details("account_information", mine.id)
    )
    _error(wrong_type, 400, "invalid_authorization_details", "type")
    unregistered_type = await register_client(authorization_details_types=["account_information"])
    _error(
        await _push(
            auth_server,
            unregistered_type,
            scope="openid payments",
            authorization_details=_details("payment_initiation", mine.id),
        ),
        400,
        "invalid_authorization_details",
        "not registered",
    )


FUNDS_SCOPES = "openid accounts payments fundsconfirmations"


async def _funds_consent(
    platform: Platform, client_id: str, expires_at: datetime | None = None
) -> core_banking.ConsentRecord:
    debtor = core_banking.DebtorAccount(core_banking.DebtorScheme.SORT_CODE_ACCOUNT_NUMBER, "40000412345678")
    details = core_banking.FundsConfirmationDetails(debtor_account=debtor, expires_at=expires_at)
    return await in_process(platform).create_funds_confirmation_consent(client_id, details)


async def test_a_funds_confirmation_consent_travels_as_authorization_details_or_intent_id(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client(scope=FUNDS_SCOPES)
    by_type = await _funds_consent(shared_platform, client.client_id)
    by_claim = await _funds_consent(shared_platform, client.client_id)
    intent = json.dumps({"id_token": {"openbanking_intent_id": {"value": by_claim.id, "essential": True}}})

    by_details = await _push(
        auth_server,
        client,
        scope="openid fundsconfirmations",
        authorization_details=_details("funds_confirmation", by_type.id),
    )
    by_intent = await _push(auth_server, client, scope="openid fundsconfirmations", claims=intent)

    assert by_details.status_code == 201, by_details.text
    assert by_intent.status_code == 201, by_intent.text
    async with unit_of_work(shared_platform.sessions) as session:
        pushed_by_details = await get_pushed_request(session, by_details.json()["request_uri"], client.client_id)
        pushed_by_intent = await get_pushed_request(session, by_intent.json()["request_uri"], client.client_id)
    assert pushed_by_details.consent_id == by_type.id
    assert pushed_by_details.authorization_details == [{"type": "funds_confirmation", "consent_id": by_type.id}]
    assert pushed_by_intent.consent_id == by_claim.id and pushed_by_intent.authorization_details is None


async def test_funds_confirmation_consents_that_cannot_be_authorised_here_fail_the_request(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client(scope=FUNDS_SCOPES)
    other = await register_client(scope=FUNDS_SCOPES)
    others = await _funds_consent(shared_platform, other.client_id)
    withdrawn = await _funds_consent(shared_platform, client.client_id)
    await in_process(shared_platform).withdraw_consent(withdrawn.id, client_id=client.client_id)
    expired = await _funds_consent(shared_platform, client.client_id, expires_at=datetime.now(UTC) + timedelta(days=1))
    async with unit_of_work(shared_platform.sessions) as session:  # a day passes
        await session.execute(
            text("UPDATE core_banking.consents SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": expired.id},
        )
    mine = await _funds_consent(shared_platform, client.client_id)

    async def by_details(kind: str, consent_id: str, scope: str = "openid fundsconfirmations") -> Any:
        return await _push(auth_server, client, scope=scope, authorization_details=_details(kind, consent_id))

    async def by_intent(consent_id: str) -> Any:
        claims = json.dumps({"userinfo": {"openbanking_intent_id": {"value": consent_id}}})
        return await _push(auth_server, client, scope="openid fundsconfirmations", claims=claims)

    for response in (await by_details("funds_confirmation", others.id), await by_intent(others.id)):
        _error(response, 400, "invalid_request", "does not exist")  # another client's reads as unknown
    for response in (await by_details("funds_confirmation", withdrawn.id), await by_intent(withdrawn.id)):
        _error(response, 400, "invalid_request", "Revoked, not awaiting authorisation")
    for response in (await by_details("funds_confirmation", expired.id), await by_intent(expired.id)):
        _error(response, 400, "invalid_request", "Expired")
    for malformed in ("", "fcc-" + "x" * 200, "fcc-\u0000", "fcc- spaced"):
        _error(await by_details("funds_confirmation", malformed), 400, "invalid_request", "does not exist")
        _error(await by_intent(malformed) if malformed else await by_intent("x\ny"), 400, "invalid_request")
    _error(
        await by_details("funds_confirmation", mine.id, "openid accounts"), 400, "invalid_scope", "fundsconfirmations"
    )
    _error(await by_details("account_information", mine.id, FUNDS_SCOPES), 400, "invalid_authorization_details", "type")
    for unknown in ("funds_confirmations", "cbpii", "confirmation_of_funds"):
        _error(await by_details(unknown, mine.id), 400, "invalid_authorization_details", "not registered")
    not_registered = await register_client(scope=FUNDS_SCOPES, authorization_details_types=["account_information"])
    _error(
        await _push(
            auth_server,
            not_registered,
            scope="openid fundsconfirmations",
            authorization_details=_details("funds_confirmation", mine.id),
        ),
        400,
        "invalid_authorization_details",
        "not registered",
    )
    without_scope = await register_client()  # registered for accounts and payments only
    _error(
        await _push(auth_server, without_scope, scope="openid fundsconfirmations", claims=json.dumps({})),
        400,
        "invalid_scope",
        "fundsconfirmations",
    )
    # The consent is untouched by every refusal, and still goes through.
    assert (await by_details("funds_confirmation", mine.id)).status_code == 201


@pytest.mark.parametrize(
    ("audience", "offsets", "accepted"),
    [
        ("par", {}, False),
        ("par-array", {}, False),
        ("token", {}, False),
        ("issuer", {"iat": 8, "nbf": 8}, True),
        ("issuer", {"iat": 61}, False),
        ("issuer", {"nbf": 61}, False),
    ],
    ids=["par-url-aud", "par-url-in-array", "token-url-aud", "iat-nbf+8", "iat+61", "nbf+61"],
)
async def test_client_assertions_at_the_par_endpoint(
    auth_server: RunningAS,
    register_client: RegisterClient,
    audience: str,
    offsets: dict[str, int],
    accepted: bool,
) -> None:
    client = await register_client()
    value: Any = {
        "par": auth_server.url(PAR_PATH),
        "par-array": [auth_server.url(PAR_PATH)],
        "token": auth_server.url(TOKEN_PATH),
        "issuer": auth_server.issuer,
    }[audience]
    now = int(time.time())
    form = {**authorization_request(), **assertion_form(client, value, **{k: now + v for k, v in offsets.items()})}

    response = await auth_server.http().post(PAR_PATH, data=form)

    if accepted:
        assert response.status_code == 201, response.text
    else:
        _error(response, 401, "invalid_client")


async def test_scopes_in_any_order_are_accepted(auth_server: RunningAS, register_client: RegisterClient) -> None:
    client = await register_client()

    response = await _push(auth_server, client, scope="payments accounts openid")

    assert response.status_code == 201, response.text


async def test_state_and_nonce_are_optional(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()

    response = await _push(auth_server, client, state=None, nonce=None)

    assert response.status_code == 201, response.text
    async with unit_of_work(shared_platform.sessions) as session:
        pushed = await get_pushed_request(session, response.json()["request_uri"], client.client_id)
    assert (pushed.state, pushed.nonce) == (None, None)
