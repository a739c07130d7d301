"""The staff console: a first-party public client whose authorizations sign staff in (TOTP) and carry their roles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from audit.trail import platform_units
from auth_server.identities import service as identities
from auth_server.identities.schemas import IdentityKind, IdentityRecord
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.clients.schemas import ClientMetadata
from auth_server.oauth.config import JWKS_PATH, PAR_PATH, TOKEN_PATH
from auth_server.oauth.errors import InvalidClientMetadata
from auth_server.sessions.service import ABSOLUTE_LIFETIME
from obank.actor import Actor
from obank.certs import certificate_thumbprint_s256
from obank.database import unit_of_work
from obank.roles import StaffRole
from obank.runtime import Platform
from tests.auth_server.helpers import PASSWORD, TEST_ACTOR, code_at, enrol, form_token, new_login
from tests.auth_server.oauth.conftest import (
    REDIRECT_URI,
    TPP_SUBJECT,
    RegisterClient,
    RegisteredClient,
    RunningAS,
)
from tests.auth_server.oauth.flow import (
    Pushed,
    access_consent,
    approve,
    authorize_path,
    hidden_fields,
    new_enrolled_customer,
    pkce,
    push,
    redirect_params,
)

SCA = "urn:openbanking:psd2:sca"
ROLES = frozenset({StaffRole.SUPPORT, StaffRole.FRAUD_ANALYST})
DEVICE = "other"  # a CA-issued client certificate standing for a managed staff device


@pytest.fixture
async def console(shared_platform: Platform) -> RegisteredClient:
    """A staff console registered as `obank demo` registers it (public, first-party, staff logins)."""
    metadata = ClientMetadata(
        client_name="Staff console",
        redirect_uris=[REDIRECT_URI],
        grant_types=["authorization_code", "refresh_token"],
        scope="openid",
        token_endpoint_auth_method="none",
    )
    async with platform_units(shared_platform).begin(Actor.system("test")) as uow:
        record = await clients_service.register_client(
            uow,
            metadata,
            first_party=True,
            identity_kind=IdentityKind.STAFF,
        )
    return RegisteredClient(record.client_id, None, "ES256")


@dataclass(frozen=True)
class Staff:
    identity: IdentityRecord
    username: str
    totp_secret: str


async def new_staff(platform: Platform) -> Staff:
    identity = await new_login(platform, kind=IdentityKind.STAFF, roles=ROLES)
    secret, _ = await enrol(platform, identity)
    return Staff(identity, identities.username_of(platform.keyring, identity), secret)


async def push_public(running: RunningAS, client: RegisteredClient, **extra: str) -> Pushed:
    """A public client's pushed request (RFC 9126 s2.1: client_id alone identifies it)."""
    verifier, challenge = pkce()
    form = {
        "client_id": client.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": "console-state",
        "nonce": "console-nonce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    response = await running.http(None).post(PAR_PATH, data=form)
    assert response.status_code == 201, response.text
    return Pushed(response.json()["request_uri"], verifier, "console-state", "console-nonce")


async def staff_sign_in(browser: httpx.AsyncClient, start: str, staff: Staff) -> httpx.Response:
    """From the authorization endpoint through the staff sign-in (password, TOTP) to the console's question."""
    response = await browser.get(start)
    assert response.status_code == 303, response.text
    login = response.headers["location"]
    assert login.startswith("/staff/login?") and "fresh=1" in login, login
    page = await browser.get(login)
    fields = {**hidden_fields(page.text), "username": staff.username, "password": PASSWORD}
    response = await browser.post("/staff/login", data=fields)
    assert response.headers["location"] == "/login/otp", response.text
    page = await browser.get("/login/otp")
    code = code_at(staff.totp_secret, datetime.now(UTC))
    response = await browser.post("/login/otp", data={"csrf_token": form_token(page.text), "otp": code})
    assert response.status_code == 303, response.text
    question = await browser.get(response.headers["location"])
    assert question.status_code == 200, question.text
    return question


async def _claims(running: RunningAS, token: str) -> dict[str, Any]:
    jwks = KeySet.import_key_set((await running.http(None).get(JWKS_PATH)).json())
    return jwt.decode(token, jwks, algorithms=["ES256", "PS256"]).claims


async def _redeem(running: RunningAS, client: RegisteredClient, code: str, verifier: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "client_id": client.client_id,
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    # The staff device's certificate: staff tokens are bound to it (the gateway's admin routes need cnf).
    return await running.http(DEVICE).post(TOKEN_PATH, data=form)


async def _console_tokens(
    running: RunningAS, console: RegisteredClient, staff: Staff
) -> tuple[httpx.Response, dict[str, Any]]:
    pushed = await push_public(running, console)
    browser = running.http(None)
    question = await staff_sign_in(browser, authorize_path(console, pushed), staff)
    answer = await browser.post(
        "/oauth2/authorize/decision", data={**hidden_fields(question.text), "decision": "approve"}
    )
    params = redirect_params(answer)
    response = await _redeem(running, console, params["code"], pushed.verifier)
    assert response.status_code == 200, response.text
    return question, response.json()


async def test_a_staff_member_gets_tokens_carrying_their_roles_after_password_and_totp(
    full_server: RunningAS, console: RegisteredClient, shared_platform: Platform
) -> None:
    staff = await new_staff(shared_platform)

    question, tokens = await _console_tokens(full_server, console, staff)

    assert "Fraud analyst" in question.text and "Support" in question.text and staff.username in question.text
    # The question's form may send the browser back to the console: CSP form-action names its origin.
    assert "form-action 'self' https://tpp.example" in question.headers["content-security-policy"]
    access = await _claims(full_server, tokens["access_token"])
    assert access["roles"] == ["fraud_analyst", "support"]
    assert access["subject_kind"] == "staff" and access["sub"] == str(staff.identity.id)
    assert access["acr"] == SCA and access["first_party"] is True
    assert access["cnf"] == {"x5t#S256": certificate_thumbprint_s256(full_server.pki.certificate(DEVICE))}
    assert "grant_id" not in access
    id_token = await _claims(full_server, tokens["id_token"])
    assert id_token["acr"] == SCA and sorted(id_token["amr"]) == ["otp", "pwd"]
    assert id_token["auth_time"] == access["auth_time"] and id_token["nonce"] == "console-nonce"

    refreshed = await full_server.http(DEVICE).post(
        TOKEN_PATH,
        data={"grant_type": "refresh_token", "client_id": console.client_id, "refresh_token": tokens["refresh_token"]},
    )

    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] != tokens["refresh_token"]  # rotated, as for the customer app
    async with unit_of_work(shared_platform.sessions) as session:
        stored = await full_server.server.tokens.find_token(session, refreshed.json()["refresh_token"])
    # A staff console stays signed in no longer than a staff browser session may.
    assert stored is not None and stored.expires_at is not None
    assert stored.expires_at - stored.issued_at <= ABSOLUTE_LIFETIME
    again = await _claims(full_server, refreshed.json()["access_token"])
    assert again["roles"] == ["fraud_analyst", "support"] and again["subject_kind"] == "staff"
    assert again["acr"] == SCA and again["auth_time"] == access["auth_time"]


async def test_a_staff_sign_in_is_always_fresh_even_over_a_live_staff_session(
    full_server: RunningAS, console: RegisteredClient, shared_platform: Platform
) -> None:
    staff = await new_staff(shared_platform)
    browser = full_server.http(None)
    await staff_sign_in(browser, authorize_path(console, await push_public(full_server, console)), staff)

    again = await browser.get(authorize_path(console, await push_public(full_server, console)))
    silent = await browser.get(authorize_path(console, await push_public(full_server, console, prompt="none")))

    assert again.status_code == 303 and again.headers["location"].startswith("/staff/login?")
    assert "fresh=1" in again.headers["location"]
    assert redirect_params(silent)["error"] == "login_required"


async def test_a_customer_cannot_obtain_a_staff_console_token(
    full_server: RunningAS, console: RegisteredClient, register_client: RegisterClient, shared_platform: Platform
) -> None:
    tpp = await register_client()
    customer = await new_enrolled_customer(shared_platform)
    pushed = await push(full_server, tpp, consent=await access_consent(shared_platform, tpp.client_id))
    browser, _, _ = await approve(full_server, tpp, pushed, customer)  # a live, strong customer session
    console_request = await push_public(full_server, console)

    shown = await browser.get(authorize_path(console, console_request))
    login = await browser.get(shown.headers["location"])
    refused = await browser.post(
        "/staff/login",
        data={**hidden_fields(login.text), "username": customer.username, "password": PASSWORD},
    )
    forged_answer = {"client_id": console.client_id, "request_uri": console_request.request_uri, "decision": "approve"}
    posted = await browser.post(
        "/oauth2/authorize/decision", data={"csrf_token": form_token(login.text), **forged_answer}
    )

    # The customer's session counts for nothing here: the staff sign-in, which refuses customer logins.
    assert shown.status_code == 303 and shown.headers["location"].startswith("/staff/login?")
    assert refused.status_code == 400 and "location" not in refused.headers
    assert posted.status_code == 303 and posted.headers["location"].startswith("/staff/login?")


async def test_a_staff_session_never_answers_a_customer_authorization(
    full_server: RunningAS, console: RegisteredClient, register_client: RegisterClient, shared_platform: Platform
) -> None:
    staff = await new_staff(shared_platform)
    browser = full_server.http(None)
    await staff_sign_in(browser, authorize_path(console, await push_public(full_server, console)), staff)
    tpp = await register_client()
    pushed = await push(full_server, tpp, consent=await access_consent(shared_platform, tpp.client_id))

    shown = await browser.get(authorize_path(tpp, pushed))

    assert shown.status_code == 303 and shown.headers["location"].startswith("/login?")


async def test_a_disabled_staff_login_can_no_longer_redeem_or_refresh(
    full_server: RunningAS, console: RegisteredClient, shared_platform: Platform
) -> None:
    staff = await new_staff(shared_platform)
    _, tokens = await _console_tokens(full_server, console, staff)
    async with platform_units(shared_platform).begin(TEST_ACTOR) as uow:
        await identities.disable(uow, staff.identity.id, revocations=shared_platform.revocations)

    refreshed = await full_server.http(DEVICE).post(
        TOKEN_PATH,
        data={"grant_type": "refresh_token", "client_id": console.client_id, "refresh_token": tokens["refresh_token"]},
    )

    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_only_first_party_clients_may_sign_staff_in(shared_platform: Platform) -> None:
    metadata = ClientMetadata(
        client_name="Not ours",
        redirect_uris=[REDIRECT_URI],
        scope="openid",
        token_endpoint_auth_method="tls_client_auth",
        tls_client_auth_subject_dn=TPP_SUBJECT,
    )

    with pytest.raises(InvalidClientMetadata, match="staff"):
        async with platform_units(shared_platform).begin(Actor.system("test")) as uow:
            await clients_service.register_client(uow, metadata, identity_kind=IdentityKind.STAFF)


async def test_a_staff_console_without_a_device_certificate_gets_no_tokens(
    full_server: RunningAS, console: RegisteredClient, shared_platform: Platform
) -> None:
    staff = await new_staff(shared_platform)
    pushed = await push_public(full_server, console)
    browser = full_server.http(None)
    question = await staff_sign_in(browser, authorize_path(console, pushed), staff)
    answer = await browser.post(
        "/oauth2/authorize/decision", data={**hidden_fields(question.text), "decision": "approve"}
    )
    form = {
        "grant_type": "authorization_code",
        "client_id": console.client_id,
        "code": redirect_params(answer)["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": pushed.verifier,
    }
    response = await full_server.http(None).post(TOKEN_PATH, data=form)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request" and "certificate" in response.json()["error_description"]
