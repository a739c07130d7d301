"""Authorizations under way: started by a request_uri's first use, bound to one browser, ended by one outcome.

RFC 9126 s4 wants each request_uri used once; FAPI 2.0 SP s5.3.2.2 note 3 asks that a reload before the
outcome still works. So the first use consumes the pushed request and starts an authorization session of
its own lifetime, bound to that browser; the same browser coming back with the same request_uri resumes
it, and any other use is refused.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime, timedelta

from auth_server.authentication import ACR_SCA, BrowserAuthentication, IdentityKind, satisfies
from auth_server.oauth.authorize import repository
from auth_server.oauth.authorize.errors import AuthorizationFailed, AuthorizationRefused
from auth_server.oauth.authorize.models import AuthorizationSession
from auth_server.oauth.authorize.schemas import PendingAuthorization
from auth_server.oauth.clients.schemas import ClientRecord
from auth_server.oauth.config import OAuthConfig
from auth_server.oauth.errors import InvalidRequestUri
from auth_server.oauth.par import service as par_service
from auth_server.oauth.par.schemas import PushedRequest
from core_banking import facade as core_banking
from obank.crypto import KeyRing, lookup_hashes
from obank.unit_of_work import UnitOfWork

BROWSER_BINDING_PURPOSE = "oauth-authorization-browser"
USED_OR_EXPIRED = "This request has expired or was already used. Go back to the app or website and start again."
UNKNOWN_REDIRECT = "The app or website asked to return to an address obank does not know."
# prompt values that ask for the sign-in form whatever the session holds (OIDC Core s3.1.2.1).
REAUTHENTICATING_PROMPTS = frozenset({"login", "select_account"})


def _browser_binding(keyring: KeyRing, browser_cookie: str) -> bytes:
    return keyring.keyed_hash(BROWSER_BINDING_PURPOSE, browser_cookie.encode())


def _bound_to(keyring: KeyRing, row: AuthorizationSession, browser_cookie: str) -> bool:
    candidates = lookup_hashes(keyring, BROWSER_BINDING_PURPOSE, browser_cookie.encode())
    return any(hmac.compare_digest(row.browser_binding, candidate) for candidate in candidates)


async def open_authorization(
    uow: UnitOfWork,
    config: OAuthConfig,
    client: ClientRecord,
    request_uri: str,
    browser_cookie: str,
    *,
    start: bool,
    now: datetime,
) -> PendingAuthorization:
    """This browser's authorization for `request_uri`: started now at its first use (if `start`), else resumed.

    Refusals the client cannot safely hear raise AuthorizationRefused; an authorization that outlived its
    lifetime raises AuthorizationFailed (the client is known by then, so it is told).
    """
    session, keyring = uow.session, uow.keyring
    try:
        pushed = await par_service.open_pushed_request(session, request_uri, client.client_id)
    except InvalidRequestUri as exc:
        raise AuthorizationRefused(USED_OR_EXPIRED) from exc
    if pushed.redirect_uri not in client.redirect_uris:
        raise AuthorizationRefused(UNKNOWN_REDIRECT)
    if pushed.consumed_at is None:
        if not start or pushed.expires_at <= now:
            raise AuthorizationRefused(USED_OR_EXPIRED)
        await par_service.consume_pushed_request(uow, request_uri, client.client_id, now=now)
        row = AuthorizationSession(
            id=uuid.uuid4(),
            pushed_request_id=pushed.id,
            client_id=client.client_id,
            browser_binding=_browser_binding(keyring, browser_cookie),
            created_at=now,
            expires_at=now + timedelta(seconds=config.authorization_session_lifetime_s),
        )
        await repository.add(session, row)
    else:
        found = await repository.by_pushed_request(session, pushed.id)
        if found is None or found.completed_at is not None or not _bound_to(keyring, found, browser_cookie):
            raise AuthorizationRefused(USED_OR_EXPIRED)
        row = found
    pending = PendingAuthorization(row.id, pushed, request_uri, row.created_at, row.expires_at)
    if pending.is_expired(now):
        lifetime = config.authorization_session_lifetime_s
        raise AuthorizationFailed(pending, "access_denied", f"the authorization was not completed within {lifetime} s")
    return pending


async def complete(uow: UnitOfWork, pending: PendingAuthorization, outcome: str, now: datetime) -> None:
    """The authorization's one outcome (`approved` or the error the client received): it cannot go on."""
    await repository.complete(uow.session, pending.id, outcome, now)


def check_client_still_allows(client: ClientRecord, pending: PendingAuthorization) -> None:
    """The client's registration may have changed since the push: what it no longer allows fails now."""
    pushed = pending.request
    if "authorization_code" not in client.grant_types:
        raise AuthorizationFailed(pending, "unauthorized_client", "this client may no longer use the code flow")
    outside = [scope for scope in pushed.scopes if scope not in client.scopes]
    if outside:
        raise AuthorizationFailed(pending, "invalid_scope", f"scopes no longer allowed: {' '.join(outside)}")
    types = [d.get("type") for d in pushed.authorization_details or ()]
    if any(t not in client.authorization_details_types for t in types):
        raise AuthorizationFailed(
            pending, "invalid_authorization_details", "an authorization_details type is no longer registered"
        )


async def awaited_consent(
    facade: core_banking.CoreBanking, pending: PendingAuthorization, now: datetime
) -> core_banking.ConsentRecord | None:
    """The Open Banking consent the request carries, provided it still awaits the customer's answer."""
    consent_id = pending.request.consent_id
    if consent_id is None:
        return None
    try:
        consent = await facade.get_consent(consent_id)
    except core_banking.ConsentNotFound:
        raise AuthorizationFailed(pending, "invalid_request", f"consent {consent_id} does not exist") from None
    if consent.client_id != pending.request.client_id:
        raise AuthorizationFailed(pending, "invalid_request", f"consent {consent_id} does not exist")
    if consent.status is not core_banking.ConsentStatus.AWAITING_AUTHORISATION:
        description = f"consent {consent_id} is {consent.status.value}, not awaiting authorisation"
        raise AuthorizationFailed(pending, "invalid_request", description)
    if consent.is_expired(now):
        raise AuthorizationFailed(pending, "invalid_request", f"consent {consent_id} has expired")
    return consent


def requested_acr(pushed: PushedRequest) -> tuple[str, ...]:
    """acr_values, and the values of an `acr` claim requested for the ID token (OIDC Core s5.5.1.1)."""
    claim = ((pushed.claims or {}).get("id_token") or {}).get("acr")
    values: list[str] = []
    if isinstance(claim, dict):
        values = [v for v in [claim.get("value"), *(claim.get("values") or [])] if isinstance(v, str)]
    return (*pushed.acr_values, *values)


def needs_sca(client: ClientRecord, pushed: PushedRequest, consent: core_banking.ConsentRecord | None) -> bool:
    """PSD2 SCA: staff always, payments (single, scheduled, standing orders), and any request asking for the SCA
    acr (acr_values or an acr claim)."""
    return (
        client.identity_kind is IdentityKind.STAFF
        or ACR_SCA in requested_acr(pushed)
        or (consent is not None and consent.kind in core_banking.PAYMENT_KINDS)
    )


def needs_fresh(client: ClientRecord, pushed: PushedRequest, consent: core_banking.ConsentRecord | None) -> bool:
    """Authentication within this very authorization: SCA cases, and prompt=login (OIDC Core s3.1.2.1)."""
    return needs_sca(client, pushed, consent) or not REAUTHENTICATING_PROMPTS.isdisjoint(pushed.prompt)


def authenticated_after(
    client: ClientRecord, pending: PendingAuthorization, consent: core_banking.ConsentRecord | None
) -> datetime | None:
    """The earliest acceptable auth_time: this authorization's start when fresh, else its start less max_age.

    OIDC Core s3.1.2.1: max_age is the time allowed since the last active authentication, counted when
    the request arrives; so max_age=0 means signing in again, once, like prompt=login.
    """
    bounds = []
    if needs_fresh(client, pending.request, consent):
        bounds.append(pending.created_at)
    if pending.request.max_age is not None:
        bounds.append(pending.created_at - timedelta(seconds=pending.request.max_age))
    return max(bounds, default=None)


def authenticated_enough(
    authentication: BrowserAuthentication | None,
    client: ClientRecord,
    pending: PendingAuthorization,
    consent: core_banking.ConsentRecord | None,
) -> bool:
    """Whether the browser's sign-in is of the client's kind of login, strong and recent enough."""
    if authentication is None or authentication.kind is not client.identity_kind:
        return False
    if authentication.kind is IdentityKind.CUSTOMER and authentication.customer_id is None:
        return False
    return satisfies(
        authentication,
        require_sca=needs_sca(client, pending.request, consent),
        authenticated_after=authenticated_after(client, pending, consent),
    )
