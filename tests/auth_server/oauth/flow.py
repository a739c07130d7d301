"""A bank customer with a login, consents to authorize, and a scripted customer's browser through the whole flow."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
from sqlalchemy import select

from audit.trail import platform_units
from auth_server.identities import service as identities
from auth_server.identities.schemas import IdentityKind, NewIdentity
from auth_server.oauth.config import PAR_PATH
from bank.jobs import consumer_registry
from core_banking import facade as core_banking
from core_banking.accounts.models import AccountType
from core_banking.consents.consumers import consent_withdrawal_consumer
from obank.money import Money
from obank.outbox.consumers import apply_once
from obank.outbox.models import OutboxEvent
from obank.outbox.relay import InProcessPublisher, OutboxRelay
from obank.outbox.repository import to_event
from obank.runtime import Platform
from obank.topics import GRANTS_TOPIC
from tests.auth_server.helpers import PASSWORD, TEST_ACTOR, enrol, form_token
from tests.auth_server.oauth.conftest import REDIRECT_URI, RegisteredClient, RunningAS, assertion_form
from tests.core_banking.helpers import new_account, new_customer

PAYEE = "ACME Widgets Ltd"
PAYEE_ACCOUNT = "20000055779911"
# The RFC 9396 type and the scope a pushed request carries for each consent kind.
CONSENT_REQUESTS = {
    core_banking.ConsentKind.ACCOUNT_ACCESS: ("account_information", "accounts"),
    core_banking.ConsentKind.DOMESTIC_PAYMENT: ("payment_initiation", "payments"),
    core_banking.ConsentKind.FUNDS_CONFIRMATION: ("funds_confirmation", "fundsconfirmations"),
}


@dataclass(frozen=True)
class Customer:
    """A bank customer with two GBP accounts, and their login enrolled in TOTP."""

    customer_id: uuid.UUID
    username: str
    totp_secret: str
    account_ids: tuple[uuid.UUID, ...]

    def code(self) -> str:
        return pyotp.TOTP(self.totp_secret).at(datetime.now(UTC))


async def new_enrolled_customer(platform: Platform) -> Customer:
    """A verified bank customer with a checking and a savings account in GBP, and their login enrolled in TOTP."""
    tag = uuid.uuid4().hex[:10]
    customer = await new_customer(platform.sessions, platform.keyring)
    accounts = [
        await new_account(platform.sessions, platform.keyring, customer.id, account_type=kind)
        for kind in (AccountType.CHECKING, AccountType.SAVINGS)
    ]
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        identity = await identities.create_identity(
            uow,
            NewIdentity(
                kind=IdentityKind.CUSTOMER, username=f"carol-{tag}", password=PASSWORD, customer_id=customer.id
            ),
        )
    secret, _ = await enrol(platform, identity)
    return Customer(customer.id, f"carol-{tag}", secret, tuple(a.id for a in accounts))


def in_process(platform: Platform) -> core_banking.InProcessCoreBanking:
    """Core banking's facade in this process, as the tests' bank clerk uses it."""
    return core_banking.InProcessCoreBanking(platform.sessions, platform.keyring)


async def relay_grant_events(platform: Platform) -> None:
    """Hand every grant event to core banking's consumer, as the outbox relay does (each at most once)."""
    withdrawal = consent_withdrawal_consumer(platform.keyring)
    async with platform.sessions() as session:
        rows = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.topic == GRANTS_TOPIC).order_by(OutboxEvent.position)
            )
        ).all()
    for row in rows:
        await apply_once(platform.sessions, withdrawal, to_event(row))


async def relay_events(platform: Platform) -> None:
    """Run the outbox relay to every context's consumers (`bank.jobs.consumer_registry`), as `obank serve`
    does without Kafka, until no event waits: the events consumers publish are relayed in turn."""
    relay = OutboxRelay(platform.sessions, InProcessPublisher(consumer_registry(platform), platform.sessions))
    while await relay.run_once():
        pass


async def payment_consent(platform: Platform, client_id: str, amount_minor: int = 12_550) -> core_banking.ConsentRecord:
    details = core_banking.DomesticPaymentDetails(
        amount=Money(amount_minor, "GBP"),
        creditor=core_banking.CreditorAccount(
            PAYEE, core_banking.CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, PAYEE_ACCOUNT
        ),
        reference="INV-2026-77",
    )
    return await in_process(platform).create_domestic_payment_consent(client_id, details)


async def access_consent(platform: Platform, client_id: str) -> core_banking.ConsentRecord:
    permissions = (core_banking.Permission.READ_ACCOUNTS_BASIC, core_banking.Permission.READ_BALANCES)
    details = core_banking.AccountAccessDetails(permissions=permissions)
    return await in_process(platform).create_account_access_consent(client_id, details)


async def funds_consent(
    platform: Platform,
    client_id: str,
    account_id: uuid.UUID,
    *,
    expires_at: datetime | None = None,
    by_iban: bool = False,
) -> core_banking.ConsentRecord:
    """A funds confirmation consent naming the account `account_id` (by sort code and number, or by IBAN)."""
    account = await in_process(platform).get_account(account_id)
    debtor = (
        core_banking.DebtorAccount(core_banking.DebtorScheme.IBAN, account.iban, account.name)
        if by_iban
        else core_banking.DebtorAccount(
            core_banking.DebtorScheme.SORT_CODE_ACCOUNT_NUMBER, account.sort_code + account.account_number
        )
    )
    details = core_banking.FundsConfirmationDetails(debtor_account=debtor, expires_at=expires_at)
    return await in_process(platform).create_funds_confirmation_consent(client_id, details)


async def get_consent(platform: Platform, consent_id: str) -> core_banking.ConsentRecord:
    return await in_process(platform).get_consent(consent_id)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass(frozen=True)
class Pushed:
    request_uri: str
    verifier: str
    state: str | None
    nonce: str | None


async def push(
    running: RunningAS,
    client: RegisteredClient,
    *,
    consent: core_banking.ConsentRecord | None = None,
    scope: str | None = None,
    state: str | None = "state-" + "s" * 10,
    nonce: str | None = "nonce-" + "n" * 10,
    cert: str = "tpp",
    **extra: str,
) -> Pushed:
    """A pushed authorization request (RFC 9126) for `consent`, authenticated by private_key_jwt over mTLS."""
    verifier, challenge = pkce()
    form: dict[str, Any] = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **assertion_form(client, running.issuer),
        **extra,
    }
    if consent is not None:
        kind, consent_scope = CONSENT_REQUESTS[consent.kind]
        form["authorization_details"] = json.dumps([{"type": kind, "consent_id": consent.id}])
        form["scope"] = scope or f"openid {consent_scope}"
    elif scope is not None:
        form["scope"] = scope
    if state is not None:
        form["state"] = state
    if nonce is not None:
        form["nonce"] = nonce
    response = await running.http(cert).post(PAR_PATH, data=form)
    assert response.status_code == 201, response.text
    return Pushed(response.json()["request_uri"], verifier, state, nonce)


def authorize_path(client: RegisteredClient, pushed: Pushed) -> str:
    return "/oauth2/authorize?" + str(
        httpx.QueryParams({"client_id": client.client_id, "request_uri": pushed.request_uri})
    )


def hidden_fields(page: str) -> dict[str, str]:
    """A form's hidden fields as a browser submits them (HTML entities decoded)."""
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in found}


async def sign_in_and_resume(
    browser: httpx.AsyncClient, start: str, customer: Customer, *, otp_at: datetime | None = None
) -> httpx.Response:
    """From the authorization endpoint through the sign-in forms (password, TOTP) back to it: its answer.

    `otp_at` picks the TOTP step: a second sign-in of the same customer needs a later step than the first.
    """
    response = await browser.get(start)
    assert response.status_code == 303, response.text
    return await complete_sign_in(browser, response.headers["location"], customer, otp_at=otp_at)


async def complete_sign_in(
    browser: httpx.AsyncClient, login: str, customer: Customer, *, otp_at: datetime | None = None
) -> httpx.Response:
    """The sign-in forms at `login` (password, TOTP), then the authorization endpoint's answer on return."""
    assert login.startswith("/login?"), login
    page = await browser.get(login)
    assert page.status_code == 200, page.text
    fields = hidden_fields(page.text)
    fields.update({"username": customer.username, "password": PASSWORD})
    response = await browser.post("/login", data=fields)
    assert response.status_code == 303 and response.headers["location"] == "/login/otp", response.text
    page = await browser.get("/login/otp")
    code = pyotp.TOTP(customer.totp_secret).at(otp_at or datetime.now(UTC))
    response = await browser.post("/login/otp", data={"csrf_token": form_token(page.text), "otp": code})
    assert response.status_code == 303, response.text
    resume = response.headers["location"]
    assert resume.startswith("/oauth2/authorize?"), resume
    return await browser.get(resume)


async def sign_in_to_consent(browser: httpx.AsyncClient, start: str, customer: Customer) -> httpx.Response:
    """From the authorization endpoint through the sign-in forms (password, TOTP) to the consent page."""
    consent_page = await sign_in_and_resume(browser, start, customer)
    assert consent_page.status_code == 200, consent_page.text
    return consent_page


def decision_form(page: httpx.Response, decision: str, account_ids: list[uuid.UUID] | None = None) -> dict[str, Any]:
    """The consent form as the page renders it (hidden fields, first account chosen) with `decision`."""
    fields: dict[str, Any] = hidden_fields(page.text)
    if account_ids is None:
        checked = re.findall(r'name="account_id"\s+value="([^"]+)" checked', page.text)
        fields["account_id"] = checked
    else:
        fields["account_id"] = [str(a) for a in account_ids]
    fields["decision"] = decision
    return fields


def redirect_params(response: httpx.Response) -> dict[str, str]:
    """The query of a 303 to the client's redirect URI."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


async def approve(
    running: RunningAS,
    client: RegisteredClient,
    pushed: Pushed,
    customer: Customer,
    browser: httpx.AsyncClient | None = None,
) -> tuple[httpx.AsyncClient, httpx.Response, dict[str, str]]:
    """Sign in and approve (in `browser`, else a new one); returns the browser, the consent page and the redirect."""
    browser = browser or running.http(cert=None)
    page = await sign_in_to_consent(browser, authorize_path(client, pushed), customer)
    response = await browser.post("/oauth2/authorize/decision", data=decision_form(page, "approve"))
    return browser, page, redirect_params(response)


def code_form(client: RegisteredClient, running: RunningAS, code: str, verifier: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        **assertion_form(client, running.issuer),
    }
