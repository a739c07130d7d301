"""GET /oauth2/authorize (pushed requests only), the consent page, and the customer's (or staff member's) answer.

Until the client and redirect URI are known good, every refusal is an error page: never a redirect
(RFC 6749 s4.1.2.1, no open redirector). Afterwards every outcome, errors included, goes to the redirect
URI with 303 and `iss` (RFC 9207 s2; FAPI 2.0 SP s5.3.2.2) and ends the authorization.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.authentication import BrowserAuthentication, IdentityKind, authentication_url, browser_authentication
from auth_server.dependencies import UnitOfWorkDep
from auth_server.oauth.authorize import service
from auth_server.oauth.authorize.codes import CodeBinding, issue_code
from auth_server.oauth.authorize.errors import AuthorizationFailed, AuthorizationRefused
from auth_server.oauth.authorize.schemas import PendingAuthorization
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.clients.schemas import ClientRecord
from auth_server.oauth.grants import service as grants_service
from auth_server.oauth.par.schemas import PushedRequest
from auth_server.oauth.server import OAuthServer, ServerDep
from auth_server.pages.dependencies import Browser, BrowserDep, CheckedBrowserDep
from auth_server.pages.rendering import redirect, render
from core_banking import facade as core_banking
from core_banking.facade import CoreBanking
from obank.browser.headers import CONTENT_SECURITY_POLICY
from obank.crypto import KeyRing
from obank.unit_of_work import UnitOfWork

AUTHORIZE_PATH = "/oauth2/authorize"
DECISION_PATH = "/oauth2/authorize/decision"
# Plain words for each scope on the consent page.
SCOPE_WORDS = {
    "openid": "Confirm who you are (your obank customer identifier)",
    "accounts": "See the account information you choose below",
    "payments": "Make the payment shown below from the account you choose",
    "fundsconfirmations": "Check whether your account has enough money for a payment",
}
SOURCE_HOST = re.compile(r"^[A-Za-z0-9.\[\]:-]+$")  # a host[:port] that cannot smuggle CSP syntax
GRANT_WITHOUT_CONSENT_S = 90 * 24 * 3600  # a grant with no Open Banking expiry lasts 90 days
APPROVED = "approved"
CHOOSE_FROM_LIST = "Choose accounts from the list."
NO_NAMED_ACCOUNT = "You have no open account with us that this request names. You can only refuse it."

router = APIRouter(include_in_schema=False)


def _words(permission: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", permission.removeprefix("Read")).capitalize()


def _response_location(pushed: PushedRequest, issuer: str, **values: str | None) -> str:
    """The redirect URI with `values`, `state` and `iss` (RFC 9207 s2) as query parameters."""
    params = {name: value for name, value in values.items() if value is not None}
    if pushed.state is not None:
        params["state"] = pushed.state
    params["iss"] = issuer
    separator = "&" if "?" in pushed.redirect_uri else "?"
    return pushed.redirect_uri + separator + urlencode(params)


async def _client(session: AsyncSession, client_id: str | None, request_uri: str | None) -> ClientRecord:
    """The active client the request names, or AuthorizationRefused."""
    if not client_id or not request_uri:
        raise AuthorizationRefused(
            "The app or website sent an incomplete request (pushed authorization requests only). Go back and try again."
        )
    client = await clients_service.find_client(session, client_id)
    if client is None or not client.is_active:
        raise AuthorizationRefused("The app or website that sent you here is not known to obank.")
    return client


def _resume_path(client_id: str, request_uri: str) -> str:
    return AUTHORIZE_PATH + "?" + urlencode({"client_id": client_id, "request_uri": request_uri})


def _sign_in(
    client: ClientRecord,
    pending: PendingAuthorization,
    consent: core_banking.ConsentRecord | None,
    browser: Browser,
    authentication: BrowserAuthentication | None,
) -> Response:
    """To the client's kind of sign-in, coming back here; the password is asked again unless only strength lacks."""
    resume = authentication_url(
        _resume_path(client.client_id, pending.request_uri),
        kind=client.identity_kind,
        require_sca=service.needs_sca(client, pending.request, consent),
        fresh=service.needs_fresh(client, pending.request, consent) or authentication is not None,
    )
    return redirect(resume, browser)


async def _fail(
    uow: UnitOfWork, issuer: str, browser: Browser, failure: AuthorizationFailed, now: datetime
) -> Response:
    """End the authorization and tell the client (RFC 6749 s4.1.2.1, with `iss` per RFC 9207 s2.4)."""
    await service.complete(uow, failure.pending, failure.error, now)
    location = _response_location(
        failure.pending.request, issuer, error=failure.error, error_description=failure.description
    )
    return redirect(location, browser)


async def _accounts(
    facade: CoreBanking, customer_id: uuid.UUID, consent: core_banking.ConsentRecord | None
) -> list[core_banking.AccountRecord]:
    """The customer's open accounts the consent may cover: a payment's in its currency, and only the one its
    DebtorAccount names when it names one (a funds confirmation always does; the customer chooses nothing)."""
    accounts = [a for a in await facade.list_customer_accounts(customer_id) if a.status.value == "ACTIVE"]
    if consent is not None and isinstance(consent.details, _PAYMENT_DETAILS):
        currency = consent.details.amount.currency
        accounts = [a for a in accounts if a.currency == currency]
    if consent is not None and isinstance(consent.details, core_banking.FundsConfirmationDetails | _PAYMENT_DETAILS):
        debtor = consent.details.debtor_account
        accounts = [a for a in accounts if debtor is None or debtor.names(a)]
    return accounts


# What a payment consent (single, scheduled or standing order) authorises: the customer pays from one account.
_PAYMENT_DETAILS = core_banking.DomesticPaymentDetails | core_banking.PaymentOrderDetails
_FREQUENCY_WORDS = {
    core_banking.Frequency.DAILY: "Every day",
    core_banking.Frequency.WEEKLY: "Every week",
    core_banking.Frequency.FORTNIGHTLY: "Every two weeks",
    core_banking.Frequency.MONTHLY: "Every month",
    core_banking.Frequency.QUARTERLY: "Every three months",
    core_banking.Frequency.HALF_YEARLY: "Every six months",
    core_banking.Frequency.YEARLY: "Every year",
}


def _day(day: date) -> str:
    return day.strftime("%d %B %Y")


def _money(money: core_banking.Money) -> str:
    return f"{money.to_decimal_string()} {money.currency}"


def _schedule(details: core_banking.PaymentOrderDetails) -> dict[str, Any]:
    """When a scheduled payment or standing order pays, in the customer's words (dates in London)."""
    if details.frequency is None:
        return {"on": _day(details.first_date)}
    if details.payments_total is not None and details.final_date is not None:
        end = f"after {details.payments_total} payments or on {_day(details.final_date)}, whichever comes first"
    elif details.payments_total is not None:
        end = f"after {details.payments_total} payments"
    elif details.final_date is not None:
        end = f"on {_day(details.final_date)}"
    else:
        end = "when you cancel it"
    return {
        "frequency": _FREQUENCY_WORDS[details.frequency],
        "first": _day(details.first_date),
        "recurring": None if details.recurring_amount is None else _money(details.recurring_amount),
        "final": None if details.final_amount is None else _money(details.final_amount),
        "ends": end,
    }


def _account_label(account: core_banking.AccountRecord) -> str:
    return f"{account.name} · {account.sort_code} {account.account_number} · {account.currency}"


def _debtor_label(debtor: core_banking.DebtorAccount) -> str:
    """The account a funds confirmation consent names, written as the page writes the customer's accounts."""
    if debtor.scheme is core_banking.DebtorScheme.SORT_CODE_ACCOUNT_NUMBER:
        identification = f"{debtor.identification[:6]} {debtor.identification[6:]}"
    else:
        identification = f"IBAN {debtor.identification}"
    return identification if debtor.name is None else f"{debtor.name} · {identification}"


def _until(expires: datetime | None) -> str | None:
    return None if expires is None else expires.strftime("%d %B %Y")


def _consent_context(
    client: ClientRecord,
    pending: PendingAuthorization,
    consent: core_banking.ConsentRecord | None,
    accounts: list[core_banking.AccountRecord],
) -> dict[str, Any]:
    """What the consent page shows: the request, the consent's own details by kind, and the account choice.

    `choice` says how accounts are picked: `many` (account access, or no consent), `one` (the account a
    payment is made from), `named` (a funds confirmation: the account its DebtorAccount names, or none).
    """
    payment: dict[str, Any] | None = None
    access: dict[str, Any] | None = None
    funds: dict[str, Any] | None = None
    choice, legend = "many", "Accounts to share"
    details = None if consent is None else consent.details
    if isinstance(details, _PAYMENT_DETAILS):
        payment = {
            "payee": details.creditor.name,
            "payee_account": details.creditor.identification,
            "amount": _money(details.amount),
            "reference": details.reference,
            "schedule": _schedule(details) if isinstance(details, core_banking.PaymentOrderDetails) else None,
        }
        choice, legend = "one", "Pay from"
    elif isinstance(details, core_banking.AccountAccessDetails):
        access = {
            "permissions": [_words(p.value) for p in details.permissions],
            "expires": _until(details.expires_at),
        }
    elif isinstance(details, core_banking.FundsConfirmationDetails):
        funds = {
            "account": _account_label(accounts[0]) if accounts else None,
            "requested": _debtor_label(details.debtor_account),
            "expires": _until(details.expires_at),
        }
        choice = "named"
    return {
        "title": f"Allow {client.client_name}?",
        "client_name": client.client_name,
        "client_id": client.client_id,
        "request_uri": pending.request_uri,
        "scope_lines": [SCOPE_WORDS.get(scope, scope) for scope in pending.request.scopes],
        "payment": payment,
        "access": access,
        "funds": funds,
        "choice": choice,
        "legend": legend,
        "accounts": [{"id": str(a.id), "label": _account_label(a)} for a in accounts],
        "action": DECISION_PATH,
    }


def _staff_context(
    client: ClientRecord, pending: PendingAuthorization, authentication: BrowserAuthentication
) -> dict[str, Any]:
    return {
        "title": f"Continue to {client.client_name}?",
        "staff": True,
        "client_name": client.client_name,
        "client_id": client.client_id,
        "request_uri": pending.request_uri,
        "username": authentication.username,
        "roles": sorted(role.value.replace("_", " ").capitalize() for role in authentication.roles),
        "action": DECISION_PATH,
    }


def _allow_return_to_client(response: HTMLResponse, pushed: PushedRequest) -> HTMLResponse:
    """CSP form-action also governs where the form's POST may redirect (CSP3 s6.3.1): add the client's origin."""
    parts = urlsplit(pushed.redirect_uri)
    if SOURCE_HOST.match(parts.netloc):
        response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}"
        )
    return response


async def _question_page(
    request: Request,
    facade: CoreBanking,
    browser: Browser,
    keyring: KeyRing,
    client: ClientRecord,
    pending: PendingAuthorization,
    consent: core_banking.ConsentRecord | None,
    authentication: BrowserAuthentication,
    *,
    error: str | None = None,
) -> HTMLResponse:
    """The customer's consent page, or the staff member's confirmation (a click, so the redirect follows a form)."""
    if client.identity_kind is IdentityKind.STAFF:
        template, context = "staff_continue.html", _staff_context(client, pending, authentication)
    else:
        assert authentication.customer_id is not None
        accounts = await _accounts(facade, authentication.customer_id, consent)
        template, context = "consent.html", _consent_context(client, pending, consent, accounts)
    context["error"] = error
    response = render(request, browser, keyring, template, context, status_code=200 if error is None else 400)
    return _allow_return_to_client(response, pending.request)


@router.get(AUTHORIZE_PATH)
async def authorize(
    request: Request,
    uow: UnitOfWorkDep,
    server: ServerDep,
    browser: BrowserDep,
    client_id: str | None = None,
    request_uri: str | None = None,
) -> Response:
    """RFC 9126 s4: act only on the pushed request; sign in (fresh where SCA demands), then ask."""
    return await _authorize(request, uow, server, browser, client_id, request_uri)


@router.post(AUTHORIZE_PATH)
async def authorize_by_post(
    request: Request,
    uow: UnitOfWorkDep,
    server: ServerDep,
    browser: BrowserDep,
    client_id: Annotated[str | None, Form()] = None,
    request_uri: Annotated[str | None, Form()] = None,
) -> Response:
    """OpenID Connect Core s3.1.2.1: the same request sent as a form."""
    return await _authorize(request, uow, server, browser, client_id, request_uri)


async def _authorize(
    request: Request,
    uow: UnitOfWork,
    server: OAuthServer,
    browser: Browser,
    client_id: str | None,
    request_uri: str | None,
) -> Response:
    now = datetime.now(UTC)
    client = await _client(uow.session, client_id, request_uri)
    assert request_uri is not None
    try:
        pending = await service.open_authorization(
            uow, server.config, client, request_uri, browser.csrf_cookie, start=True, now=now
        )
        service.check_client_still_allows(client, pending)
        consent = await service.awaited_consent(server.core_banking, pending, now)
        authentication = await browser_authentication(uow, request, kind=client.identity_kind)
        prompt = pending.request.prompt
        if not service.authenticated_enough(authentication, client, pending, consent):
            if "none" in prompt:
                # OIDC Core s3.1.2.6: no interaction allowed, so the client hears why it would be needed.
                raise AuthorizationFailed(pending, "login_required", "the end-user must sign in")
            return _sign_in(client, pending, consent, browser, authentication)
        assert authentication is not None
        if "none" in prompt:
            # Every authorization asks the person (consent, or a staff member's confirmation).
            raise AuthorizationFailed(pending, "consent_required", "the end-user must approve this request")
        return await _question_page(
            request, server.core_banking, browser, uow.keyring, client, pending, consent, authentication
        )
    except AuthorizationFailed as failure:
        return await _fail(uow, server.config.issuer, browser, failure, now)


FormField = Annotated[str, Form()]


@router.post(DECISION_PATH)
async def decide(
    request: Request,
    uow: UnitOfWorkDep,
    server: ServerDep,
    browser: CheckedBrowserDep,
    client_id: FormField = "",
    request_uri: FormField = "",
    decision: FormField = "",
) -> Response:
    """The answer: approve (grant, consent authorised, code) or deny (`access_denied`); one per authorization."""
    now = datetime.now(UTC)
    client = await _client(uow.session, client_id, request_uri)
    try:
        pending = await service.open_authorization(
            uow, server.config, client, request_uri, browser.csrf_cookie, start=False, now=now
        )
        service.check_client_still_allows(client, pending)
        consent = await service.awaited_consent(server.core_banking, pending, now)
        authentication = await browser_authentication(uow, request, kind=client.identity_kind)
        if not service.authenticated_enough(authentication, client, pending, consent):
            # Signed out or no longer strong or recent enough since the page was shown: sign in again.
            return _sign_in(client, pending, consent, browser, authentication)
        assert authentication is not None
        if decision not in ("approve", "deny"):
            return await _question_page(
                request,
                server.core_banking,
                browser,
                uow.keyring,
                client,
                pending,
                consent,
                authentication,
                error="Choose Allow or Do not allow.",
            )
        if decision == "deny":
            return await _deny(uow, server.core_banking, server.config.issuer, browser, pending, authentication, now)
        # What the bank's own apps obtain ends with the sign-in session it came from; a TPP's grant names none, as a
        # customer's consent to a TPP outlives their sign-in (UK Open Banking: only the customer or TPP ends it).
        session_id = authentication.session_id if client.first_party else None
        if client.identity_kind is IdentityKind.STAFF:
            return await _approve_staff(uow, server.config.issuer, browser, pending, authentication, session_id, now)
        form = await request.form()
        chosen = [value for value in form.getlist("account_id") if isinstance(value, str)]
        assert authentication.customer_id is not None
        problem, account_ids = await _chosen_accounts(server.core_banking, authentication.customer_id, consent, chosen)
        if problem is not None:
            return await _question_page(
                request,
                server.core_banking,
                browser,
                uow.keyring,
                client,
                pending,
                consent,
                authentication,
                error=problem,
            )
        return await _approve(
            uow,
            server.core_banking,
            server.config.issuer,
            browser,
            pending,
            consent,
            authentication,
            account_ids,
            session_id,
            now,
        )
    except AuthorizationFailed as failure:
        return await _fail(uow, server.config.issuer, browser, failure, now)


async def _chosen_accounts(
    facade: CoreBanking,
    customer_id: uuid.UUID,
    consent: core_banking.ConsentRecord | None,
    chosen: list[str],
) -> tuple[str | None, list[uuid.UUID]]:
    """The accounts ticked, or what is wrong with the choice (shown on the consent page again)."""
    accounts = [a.id for a in await _accounts(facade, customer_id, consent)]
    try:
        ids = list(dict.fromkeys(uuid.UUID(value) for value in chosen))
    except ValueError:
        return CHOOSE_FROM_LIST, []
    if any(i not in accounts for i in ids):
        return CHOOSE_FROM_LIST, []
    if consent is not None and consent.kind is core_banking.ConsentKind.FUNDS_CONFIRMATION:
        # Exactly the account the consent's DebtorAccount names: the customer approves it, never picks another.
        if len(accounts) != 1:
            return NO_NAMED_ACCOUNT, []
        return None, accounts
    if consent is not None and not ids:
        return "Choose an account.", []
    if consent is not None and consent.kind in core_banking.PAYMENT_KINDS and len(ids) != 1:
        return "Choose one account to pay from.", []
    return None, ids


async def _deny(
    uow: UnitOfWork,
    facade: CoreBanking,
    issuer: str,
    browser: Browser,
    pending: PendingAuthorization,
    authentication: BrowserAuthentication,
    now: datetime,
) -> Response:
    pushed = pending.request
    if authentication.kind is IdentityKind.CUSTOMER:
        if pushed.consent_id is not None:
            # Core banking commits the refusal in its own transaction; a retry gets the same answer.
            await facade.reject_consent(
                pushed.consent_id,
                customer_id=authentication.customer_id,
                session_id=str(authentication.session_id),
            )
        grants_service.record_denial(
            uow,
            subject=authentication.subject,
            customer_id=authentication.customer_id,
            client_id=pushed.client_id,
            consent_id=pushed.consent_id,
        )
    # RFC 6749 s4.1.2.1 access_denied, with state and iss like every response (RFC 9207 s2.4).
    failure = AuthorizationFailed(pending, "access_denied", "the end-user refused the request")
    return await _fail(uow, issuer, browser, failure, now)


async def _issue(
    uow: UnitOfWork,
    issuer: str,
    browser: Browser,
    pending: PendingAuthorization,
    authentication: BrowserAuthentication,
    grant_id: uuid.UUID | None,
    session_id: uuid.UUID | None,
    now: datetime,
) -> Response:
    """The code (RFC 6749 s4.1.2), bound to what the tokens will carry; the authorization is then over."""
    pushed = pending.request
    code = await issue_code(
        uow,
        CodeBinding(
            client_id=pushed.client_id,
            grant_id=grant_id,
            subject=str(authentication.subject),
            redirect_uri=pushed.redirect_uri,
            code_challenge=pushed.code_challenge,
            scopes=pushed.scopes,
            authorization_details=pushed.authorization_details,
            consent_id=pushed.consent_id,
            nonce=pushed.nonce,
            acr=authentication.acr,
            amr=authentication.amr,
            auth_time=authentication.auth_time,
            session_id=session_id,
        ),
        now=now,
    )
    await service.complete(uow, pending, APPROVED, now)
    return redirect(_response_location(pushed, issuer, code=code), browser)


async def _approve_staff(
    uow: UnitOfWork,
    issuer: str,
    browser: Browser,
    pending: PendingAuthorization,
    authentication: BrowserAuthentication,
    session_id: uuid.UUID | None,
    now: datetime,
) -> Response:
    """A staff member continues to the staff console: no grant, their roles govern what the token allows."""
    return await _issue(uow, issuer, browser, pending, authentication, None, session_id, now)


async def _approve(
    uow: UnitOfWork,
    facade: CoreBanking,
    issuer: str,
    browser: Browser,
    pending: PendingAuthorization,
    consent: core_banking.ConsentRecord | None,
    authentication: BrowserAuthentication,
    account_ids: list[uuid.UUID],
    session_id: uuid.UUID | None,
    now: datetime,
) -> Response:
    pushed = pending.request
    assert authentication.customer_id is not None
    # The grant lasts as long as its consent (ExpirationDateTime, whatever its kind), else 90 days.
    expires_at = (None if consent is None else consent.expires_at) or now + timedelta(seconds=GRANT_WITHOUT_CONSENT_S)
    if pushed.consent_id is not None:
        # First in core banking, committed there: should this transaction fail, the customer's retry gets the
        # same answer from the idempotent command, and the grant and code are recorded then.
        await facade.authorise_consent(
            pushed.consent_id,
            customer_id=authentication.customer_id,
            account_ids=account_ids,
            session_id=str(authentication.session_id),
        )
    grant = await grants_service.record_grant(
        uow,
        subject=authentication.subject,
        customer_id=authentication.customer_id,
        client_id=pushed.client_id,
        scopes=pushed.scopes,
        authorization_details=pushed.authorization_details,
        consent_id=pushed.consent_id,
        account_ids=account_ids,
        expires_at=expires_at,
        session_id=session_id,
        now=now,
    )
    return await _issue(uow, issuer, browser, pending, authentication, grant.id, session_id, now)
