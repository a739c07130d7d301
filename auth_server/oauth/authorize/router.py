"""GET /oauth2/authorize (pushed requests only), the consent page, and the customer's decision.

Until the client and redirect URI are known good, every refusal is an error page: never a redirect
(RFC 6749 s4.1.2.1, no open redirector). Afterwards, outcomes go to the redirect URI with 303 and
`iss` (RFC 9207 s2; FAPI 2.0 SP s5.3.2.2).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.errors import AuthError
from auth_server.facade import (
    ACR_SCA,
    BrowserAuthentication,
    authentication_url,
    browser_authentication,
    satisfies,
)
from auth_server.oauth.authorize.codes import CodeBinding, issue_code
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.clients.schemas import ClientRecord
from auth_server.oauth.errors import OAuthError
from auth_server.oauth.grants import service as grants_service
from auth_server.oauth.par import service as par_service
from auth_server.oauth.par.schemas import PushedRequest
from auth_server.oauth.server import OAuthServer, ServerDep
from auth_server.pages.dependencies import Browser, BrowserDep, CheckedBrowserDep, KeyRingDep
from auth_server.pages.headers import CONTENT_SECURITY_POLICY
from auth_server.pages.rendering import redirect, render
from core_banking import facade as core_banking
from obank.crypto import KeyRing
from obank.database import SessionDep

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

router = APIRouter(include_in_schema=False)


class AuthorizationRefused(AuthError):
    """An authorization request that cannot go back to the client safely: shown as a page."""

    status = 400
    code = "authorization_refused"
    title = "This request from the app or website cannot be completed"


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


async def _load(
    session: AsyncSession, client_id: str | None, request_uri: str | None
) -> tuple[ClientRecord, PushedRequest]:
    """The client and its still-unused pushed request, or AuthorizationRefused."""
    if not client_id or not request_uri:
        raise AuthorizationRefused(
            "The app or website sent an incomplete request (pushed authorization requests only). Go back and try again."
        )
    client = await clients_service.find_client(session, client_id)
    if client is None or not client.is_active:
        raise AuthorizationRefused("The app or website that sent you here is not known to obank.")
    try:
        pushed = await par_service.get_pushed_request(session, request_uri, client_id)
    except OAuthError as exc:
        raise AuthorizationRefused(
            "This request has expired or was already used. Go back to the app or website and start again."
        ) from exc
    if pushed.redirect_uri not in client.redirect_uris:
        raise AuthorizationRefused("The app or website asked to return to an address obank does not know.")
    return client, pushed


def _requested_acr(pushed: PushedRequest) -> tuple[str, ...]:
    """acr_values, and the values of an `acr` claim requested for the ID token (OIDC Core s5.5.1.1)."""
    claim = ((pushed.claims or {}).get("id_token") or {}).get("acr")
    values: list[str] = []
    if isinstance(claim, dict):
        values = [v for v in [claim.get("value"), *(claim.get("values") or [])] if isinstance(v, str)]
    return (*pushed.acr_values, *values)


def _needs_sca(pushed: PushedRequest, consent: core_banking.ConsentRecord | None) -> bool:
    """PSD2 SCA: payments, and any request asking for the SCA acr (acr_values or an acr claim)."""
    return ACR_SCA in _requested_acr(pushed) or (
        consent is not None and consent.kind is core_banking.ConsentKind.DOMESTIC_PAYMENT
    )


def _needs_fresh(pushed: PushedRequest, consent: core_banking.ConsentRecord | None) -> bool:
    """Authentication in this very authorization: SCA cases, and `prompt=login` (OIDC Core s3.1.2.1)."""
    return _needs_sca(pushed, consent) or "login" in pushed.prompt


def _authenticated_enough(
    authentication: BrowserAuthentication | None,
    pushed: PushedRequest,
    consent: core_banking.ConsentRecord | None,
) -> bool:
    if authentication is None or authentication.customer_id is None:
        return False
    return satisfies(
        authentication,
        require_sca=_needs_sca(pushed, consent),
        # The pushed request's time is when this authorization started: a login before it is not fresh.
        authenticated_after=pushed.created_at if _needs_fresh(pushed, consent) else None,
        max_age=None if pushed.max_age is None else timedelta(seconds=pushed.max_age),
    )


async def _consent(session: AsyncSession, pushed: PushedRequest) -> core_banking.ConsentRecord | None:
    if pushed.consent_id is None:
        return None
    consent = await core_banking.get_consent(session, pushed.consent_id)
    if consent.status is not core_banking.ConsentStatus.AWAITING_AUTHORISATION:
        raise AuthorizationRefused("This request was already answered. Go back to the app or website.")
    return consent


def _resume_path(client_id: str, request_uri: str) -> str:
    return AUTHORIZE_PATH + "?" + urlencode({"client_id": client_id, "request_uri": request_uri})


async def _accounts(
    session: AsyncSession, customer_id: uuid.UUID, consent: core_banking.ConsentRecord | None
) -> list[core_banking.AccountRecord]:
    accounts = [
        a for a in await core_banking.list_customer_accounts(session, customer_id) if a.status.value == "ACTIVE"
    ]
    if consent is not None and isinstance(consent.details, core_banking.DomesticPaymentDetails):
        currency = consent.details.amount.currency
        accounts = [a for a in accounts if a.currency == currency]
    return accounts


def _consent_context(
    client: ClientRecord,
    pushed: PushedRequest,
    consent: core_banking.ConsentRecord | None,
    accounts: list[core_banking.AccountRecord],
    request_uri: str,
) -> dict[str, Any]:
    payment: dict[str, Any] | None = None
    access: dict[str, Any] | None = None
    if consent is not None and isinstance(consent.details, core_banking.DomesticPaymentDetails):
        details = consent.details
        payment = {
            "payee": details.creditor.name,
            "payee_account": details.creditor.identification,
            "amount": f"{details.amount.to_decimal_string()} {details.amount.currency}",
            "reference": details.reference,
        }
    elif consent is not None and isinstance(consent.details, core_banking.AccountAccessDetails):
        expires = consent.details.expires_at
        access = {
            "permissions": [_words(p.value) for p in consent.details.permissions],
            "expires": None if expires is None else expires.strftime("%d %B %Y"),
        }
    return {
        "title": f"Allow {client.client_name}?",
        "client_name": client.client_name,
        "client_id": client.client_id,
        "request_uri": request_uri,
        "scope_lines": [SCOPE_WORDS.get(scope, scope) for scope in pushed.scopes],
        "payment": payment,
        "access": access,
        "accounts": [
            {"id": str(a.id), "label": f"{a.name} · {a.sort_code} {a.account_number} · {a.currency}"} for a in accounts
        ],
        "action": DECISION_PATH,
    }


@router.get(AUTHORIZE_PATH)
async def authorize(
    request: Request,
    session: SessionDep,
    server: ServerDep,
    browser: BrowserDep,
    keyring: KeyRingDep,
    client_id: str | None = None,
    request_uri: str | None = None,
) -> Response:
    """RFC 9126 s4: act only on the pushed request; sign in (fresh where SCA demands), then ask consent."""
    return await _authorize(request, session, server, browser, keyring, client_id, request_uri)


@router.post(AUTHORIZE_PATH)
async def authorize_by_post(
    request: Request,
    session: SessionDep,
    server: ServerDep,
    browser: BrowserDep,
    keyring: KeyRingDep,
    client_id: Annotated[str | None, Form()] = None,
    request_uri: Annotated[str | None, Form()] = None,
) -> Response:
    """OpenID Connect Core s3.1.2.1: the same request sent as a form."""
    return await _authorize(request, session, server, browser, keyring, client_id, request_uri)


async def _authorize(
    request: Request,
    session: AsyncSession,
    server: OAuthServer,
    browser: Browser,
    keyring: KeyRing,
    client_id: str | None,
    request_uri: str | None,
) -> Response:
    client, pushed = await _load(session, client_id, request_uri)
    assert request_uri is not None
    consent = await _consent(session, pushed)
    authentication = await browser_authentication(session, keyring, request)
    if not _authenticated_enough(authentication, pushed, consent):
        if "none" in pushed.prompt:
            # OIDC Core s3.1.2.6: no interaction allowed, so report it to the client.
            await par_service.consume_pushed_request(session, request_uri, client.client_id)
            return redirect(_response_location(pushed, server.config.issuer, error="login_required"))
        return redirect(
            authentication_url(
                _resume_path(client.client_id, request_uri),
                require_sca=_needs_sca(pushed, consent),
                fresh=_needs_fresh(pushed, consent) or authentication is not None,
            )
        )
    assert authentication is not None and authentication.customer_id is not None
    accounts = await _accounts(session, authentication.customer_id, consent)
    context = _consent_context(client, pushed, consent, accounts, request_uri)
    response = render(request, browser, keyring, "consent.html", context)
    # CSP form-action also governs where the form's POST may redirect (CSP3 s6.3.1): the client's origin.
    parts = urlsplit(pushed.redirect_uri)
    if SOURCE_HOST.match(parts.netloc):
        response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}"
        )
    return response


FormField = Annotated[str, Form()]


@router.post(DECISION_PATH)
async def decide(
    request: Request,
    session: SessionDep,
    server: ServerDep,
    browser: CheckedBrowserDep,
    keyring: KeyRingDep,
    client_id: FormField = "",
    request_uri: FormField = "",
    decision: FormField = "",
) -> Response:
    """The customer's answer: approve (grant, consent authorised, code) or deny (`access_denied`)."""
    client, pushed = await _load(session, client_id, request_uri)
    consent = await _consent(session, pushed)
    authentication = await browser_authentication(session, keyring, request)
    if not _authenticated_enough(authentication, pushed, consent):
        # The sign-in no longer satisfies the request (signed out, or not fresh): start the sign-in again.
        return redirect(authentication_url(_resume_path(client.client_id, request_uri), require_sca=True))
    assert authentication is not None and authentication.customer_id is not None
    if decision not in ("approve", "deny"):
        raise AuthorizationRefused("Choose whether to allow or not.")
    form = await request.form()
    chosen = [value for value in form.getlist("account_id") if isinstance(value, str)]
    try:
        pushed = await par_service.consume_pushed_request(session, request_uri, client.client_id)
    except OAuthError as exc:  # answered already (a double submit) or expired meanwhile
        raise AuthorizationRefused("This request was already answered or has expired.") from exc
    if decision == "deny":
        return await _deny(session, server.config.issuer, keyring, browser, pushed, authentication)
    account_ids = await _chosen_accounts(session, authentication.customer_id, consent, chosen)
    return await _approve(session, server.config.issuer, keyring, pushed, consent, authentication, account_ids)


async def _chosen_accounts(
    session: AsyncSession,
    customer_id: uuid.UUID,
    consent: core_banking.ConsentRecord | None,
    chosen: list[str],
) -> list[uuid.UUID]:
    eligible = {a.id for a in await _accounts(session, customer_id, consent)}
    try:
        ids = list(dict.fromkeys(uuid.UUID(value) for value in chosen))
    except ValueError as exc:
        raise AuthorizationRefused("Choose accounts from the list.") from exc
    if any(i not in eligible for i in ids):
        raise AuthorizationRefused("Choose accounts from the list.")
    if consent is not None and not ids:
        raise AuthorizationRefused("Choose an account.")
    if consent is not None and consent.kind is core_banking.ConsentKind.DOMESTIC_PAYMENT and len(ids) != 1:
        raise AuthorizationRefused("Choose one account to pay from.")
    return ids


async def _deny(
    session: AsyncSession,
    issuer: str,
    keyring: KeyRing,
    browser: Browser,
    pushed: PushedRequest,
    authentication: BrowserAuthentication,
) -> Response:
    if pushed.consent_id is not None:
        await core_banking.reject_consent(
            session,
            keyring,
            pushed.consent_id,
            customer_id=authentication.customer_id,
            session_id=str(authentication.session_id),
        )
    await grants_service.record_denial(
        session, keyring, subject=authentication.subject, client_id=pushed.client_id, consent_id=pushed.consent_id
    )
    # RFC 6749 s4.1.2.1 access_denied, with state and iss like every response (RFC 9207 s2.4).
    return redirect(_response_location(pushed, issuer, error="access_denied"), browser)


async def _approve(
    session: AsyncSession,
    issuer: str,
    keyring: KeyRing,
    pushed: PushedRequest,
    consent: core_banking.ConsentRecord | None,
    authentication: BrowserAuthentication,
    account_ids: list[uuid.UUID],
) -> Response:
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=GRANT_WITHOUT_CONSENT_S)
    if consent is not None and isinstance(consent.details, core_banking.AccountAccessDetails):
        expires_at = consent.details.expires_at or expires_at
    grant = await grants_service.record_grant(
        session,
        keyring,
        subject=authentication.subject,
        customer_id=authentication.customer_id,
        client_id=pushed.client_id,
        scopes=pushed.scopes,
        authorization_details=pushed.authorization_details,
        consent_id=pushed.consent_id,
        account_ids=account_ids,
        expires_at=expires_at,
        now=now,
    )
    if pushed.consent_id is not None:
        assert authentication.customer_id is not None
        await core_banking.authorise_consent(
            session,
            keyring,
            pushed.consent_id,
            customer_id=authentication.customer_id,
            account_ids=account_ids,
            session_id=str(authentication.session_id),
        )
    code = await issue_code(
        session,
        keyring,
        CodeBinding(
            client_id=pushed.client_id,
            grant_id=grant.id,
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
        ),
        now=now,
    )
    return redirect(_response_location(pushed, issuer, code=code))
