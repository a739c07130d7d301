"""RFC 9126 pushed authorization requests, validated in full when pushed, consumed once by the client."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.client_auth.service import AuthenticatedClient
from auth_server.oauth.clients.schemas import ACCOUNT_INFORMATION, FUNDS_CONFIRMATION, PAYMENT_INITIATION
from auth_server.oauth.config import OAuthConfig
from auth_server.oauth.errors import (
    InvalidAuthorizationDetails,
    InvalidRequest,
    InvalidRequestUri,
    InvalidScope,
    RequestNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from auth_server.oauth.par import repository
from auth_server.oauth.par.models import PushedAuthorizationRequest
from auth_server.oauth.par.schemas import PushedRequest
from core_banking.facade import PAYMENT_KINDS, ConsentKind, ConsentNotFound, ConsentStatus, CoreBanking
from obank.unit_of_work import UnitOfWork

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"  # RFC 9126 s2.2
MAX_STATE_LENGTH = 2048
MAX_PARAMETER_LENGTH = 8192
PKCE_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # RFC 7636 s4.2: BASE64URL(SHA-256) is 43 characters
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
# Which RFC 9396 type carries which consent kind, and the scope a consent of that kind needs (UK OB v4.0:
# `accounts` for AIS, `payments` for PIS, `fundsconfirmations` for CBPII).
# `payment_initiation` carries every payment consent (single, scheduled, standing order): the consent's own
# kind says which, as UK OB's `openbanking_intent_id` leaves it to the intent.
CONSENT_TYPES = {
    ACCOUNT_INFORMATION: frozenset({ConsentKind.ACCOUNT_ACCESS}),
    PAYMENT_INITIATION: PAYMENT_KINDS,
    FUNDS_CONFIRMATION: frozenset({ConsentKind.FUNDS_CONFIRMATION}),
}
CONSENT_SCOPES = {
    ConsentKind.ACCOUNT_ACCESS: "accounts",
    ConsentKind.DOMESTIC_PAYMENT: "payments",
    ConsentKind.DOMESTIC_SCHEDULED_PAYMENT: "payments",
    ConsentKind.DOMESTIC_STANDING_ORDER: "payments",
    ConsentKind.FUNDS_CONFIRMATION: "fundsconfirmations",
}
INTENT_CLAIM = "openbanking_intent_id"
CONSENT_ID = re.compile(r"[\x21-\x7e]{1,128}")  # UK OB ConsentId: Max128Text; ours are visible ASCII


def request_uri_hash(request_uri: str) -> bytes:
    # The reference carries 256 random bits, so a plain SHA-256 cannot be reversed by guessing.
    return hashlib.sha256(request_uri.encode()).digest()


def _bounded(form: Mapping[str, str], name: str, limit: int = MAX_PARAMETER_LENGTH) -> str | None:
    value = form.get(name)
    if value is not None and len(value) > limit:
        raise InvalidRequest(f"{name} is longer than {limit} characters")
    return value


def _json(form: Mapping[str, str], name: str) -> Any:
    raw = _bounded(form, name)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidRequest(f"{name} is not valid JSON") from exc


def _authorization_details(form: Mapping[str, str], allowed_types: tuple[str, ...]) -> list[dict[str, Any]] | None:
    """RFC 9396 s2: a JSON array of objects, each with a type the client registered."""
    details = _json(form, "authorization_details")
    if details is None:
        return None
    if not isinstance(details, list) or not details or not all(isinstance(d, dict) for d in details):
        raise InvalidAuthorizationDetails("authorization_details must be a non-empty JSON array of objects")
    for detail in details:
        kind = detail.get("type")
        if not isinstance(kind, str) or kind not in allowed_types:
            raise InvalidAuthorizationDetails(f"authorization_details type {kind!r} is not registered for this client")
        if kind in CONSENT_TYPES and not isinstance(detail.get("consent_id"), str):
            raise InvalidAuthorizationDetails(f"authorization_details of type {kind} needs a consent_id")
    if sum(1 for d in details if d["type"] in CONSENT_TYPES) > 1:
        raise InvalidAuthorizationDetails("one Open Banking consent per authorization request")
    return details


def _intent_id(claims: Any) -> str | None:
    """The `openbanking_intent_id` value requested in the OIDC `claims` parameter, if any."""
    if claims is None:
        return None
    if not isinstance(claims, dict):
        raise InvalidRequest("claims must be a JSON object (OpenID Connect Core s5.5)")
    values = set()
    for member in ("id_token", "userinfo"):
        requested = claims.get(member)
        if isinstance(requested, dict) and isinstance(requested.get(INTENT_CLAIM), dict):
            if "value" not in requested[INTENT_CLAIM]:
                continue  # OIDC Core s5.5.1: asks only that the claim be returned; it names no consent
            value = requested[INTENT_CLAIM]["value"]
            if not isinstance(value, str) or not value:
                raise InvalidRequest(f"{INTENT_CLAIM} must carry a string value")
            values.add(value)
    if len(values) > 1:
        raise InvalidRequest(f"{INTENT_CLAIM} differs between id_token and userinfo")
    return values.pop() if values else None


async def _check_consent(
    core_banking: CoreBanking,
    client_id: str,
    consent_id: str,
    expected_kinds: frozenset[ConsentKind] | None,
    scopes: list[str],
    now: datetime,
) -> None:
    """Issue 5 item 7: the consent exists, is this client's, awaits authorisation, and fits the request.

    Every refusal is an RFC 9126 s2.3 error response: `invalid_request` for the consent itself,
    `invalid_authorization_details` (RFC 9396 s5) when the type given does not carry its kind.
    """
    if not CONSENT_ID.fullmatch(consent_id):
        raise InvalidRequest("the consent does not exist")
    try:
        consent = await core_banking.get_consent(consent_id)
    except ConsentNotFound:
        consent = None
    # Another client's consent reads exactly like a missing one.
    if consent is None or consent.client_id != client_id:
        raise InvalidRequest(f"consent {consent_id} does not exist")
    if consent.status is not ConsentStatus.AWAITING_AUTHORISATION:
        raise InvalidRequest(f"consent {consent_id} is {consent.status.value}, not awaiting authorisation")
    if consent.is_expired(now):
        raise InvalidRequest(f"consent {consent_id} has expired")
    if expected_kinds is not None and consent.kind not in expected_kinds:
        raise InvalidAuthorizationDetails(f"consent {consent_id} is not of the authorization_details type given")
    scope = CONSENT_SCOPES.get(consent.kind)
    if scope is None:
        raise InvalidRequest(f"consent {consent_id} cannot be authorised here")
    if scope not in scopes:
        raise InvalidScope(f"a {consent.kind.value.lower().replace('_', ' ')} consent needs the {scope} scope")


async def push_authorization_request(
    uow: UnitOfWork,
    config: OAuthConfig,
    core_banking: CoreBanking,
    caller: AuthenticatedClient,
    form: Mapping[str, str],
    *,
    now: datetime | None = None,
) -> tuple[str, int]:
    """Validate an authorization request pushed by an authenticated client; return (request_uri, expires_in)."""
    now = now or datetime.now(UTC)
    client = caller.client
    if "request_uri" in form:
        raise InvalidRequest("request_uri must not be sent to the PAR endpoint (RFC 9126 s2.1)")
    if "request" in form:
        raise RequestNotSupported("request objects are not supported; push the parameters as form fields")
    if form.get("client_id") not in (None, client.client_id):
        raise InvalidRequest("client_id is not the authenticated client")
    if "authorization_code" not in client.grant_types:
        raise UnauthorizedClient("this client may not use the authorization code flow")
    response_type = form.get("response_type")
    if response_type is None:
        raise InvalidRequest("response_type is required")
    if response_type != "code":
        raise UnsupportedResponseType("only response_type=code is supported (FAPI 2.0 SP s5.3.2.2)")
    if form.get("response_mode") not in (None, "query"):
        raise InvalidRequest("only response_mode=query is supported")
    redirect_uri = form.get("redirect_uri")
    if redirect_uri is None:
        raise InvalidRequest("redirect_uri is required in the pushed request (FAPI 2.0 SP s5.3.2.2)")
    if redirect_uri not in client.redirect_uris:
        raise InvalidRequest("redirect_uri is not registered for this client")
    code_challenge = form.get("code_challenge")
    method = form.get("code_challenge_method")
    if code_challenge is None:
        raise InvalidRequest("code_challenge is required: PKCE (RFC 7636) with S256")
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256 (FAPI 2.0 SP s5.3.2.2); plain is refused")
    if not PKCE_S256_CHALLENGE.match(code_challenge):
        raise InvalidRequest("code_challenge is not a base64url SHA-256 digest")
    scopes = list(dict.fromkeys((form.get("scope") or "").split()))
    outside = [s for s in scopes if s not in client.scopes]
    if outside:
        raise InvalidScope(f"scopes not allowed for this client: {' '.join(outside)}")
    prompt = (form.get("prompt") or "").split()
    if any(p not in PROMPTS for p in prompt) or ("none" in prompt and len(prompt) > 1):
        raise InvalidRequest("prompt must be none alone, or any of login, consent, select_account")
    max_age: int | None = None
    if "max_age" in form:
        if not form["max_age"].isdigit():
            raise InvalidRequest("max_age must be a non-negative integer")
        max_age = int(form["max_age"])
    details = _authorization_details(form, client.authorization_details_types)
    claims = _json(form, "claims")
    intent_id = _intent_id(claims)
    consent_entry = next((d for d in details or () if d["type"] in CONSENT_TYPES), None)
    consent_id = intent_id
    if consent_entry is not None:
        if intent_id is not None and intent_id != consent_entry["consent_id"]:
            raise InvalidRequest(f"{INTENT_CLAIM} and the authorization_details consent_id differ")
        consent_id = consent_entry["consent_id"]
    if consent_id is not None:
        expected = None if consent_entry is None else CONSENT_TYPES[consent_entry["type"]]
        await _check_consent(core_banking, client.client_id, consent_id, expected, scopes, now)
    parameters: dict[str, Any] = {
        "response_type": response_type,
        "redirect_uri": redirect_uri,
        "scopes": scopes,
        "state": _bounded(form, "state", MAX_STATE_LENGTH),
        "nonce": _bounded(form, "nonce", MAX_STATE_LENGTH),
        "code_challenge": code_challenge,
        "code_challenge_method": method,
        "authorization_details": details,
        "claims": claims,
        "acr_values": (_bounded(form, "acr_values") or "").split(),
        "prompt": prompt,
        "max_age": max_age,
        "login_hint": _bounded(form, "login_hint", 256),
        "ui_locales": _bounded(form, "ui_locales", 256),
    }
    request_uri = REQUEST_URI_PREFIX + secrets.token_urlsafe(32)
    await repository.add(
        uow.session,
        PushedAuthorizationRequest(
            id=uuid.uuid4(),
            request_uri_hash=request_uri_hash(request_uri),
            client_id=client.client_id,
            parameters=parameters,
            consent_id=consent_id,
            created_at=now,
            expires_at=now + timedelta(seconds=config.par_lifetime_s),
        ),
    )
    return request_uri, config.par_lifetime_s


async def _row(
    session: AsyncSession, request_uri: str, client_id: str, *, for_update: bool
) -> PushedAuthorizationRequest:
    row = await repository.by_hash(session, request_uri_hash(request_uri), for_update=for_update)
    # RFC 9126 s4: bound to the client that pushed it; someone else's reads as unknown.
    if row is None or row.client_id != client_id:
        raise InvalidRequestUri("request_uri is unknown or was pushed by another client")
    return row


async def _live(
    session: AsyncSession, request_uri: str, client_id: str, now: datetime, *, for_update: bool
) -> PushedAuthorizationRequest:
    row = await _row(session, request_uri, client_id, for_update=for_update)
    if row.consumed_at is not None:
        raise InvalidRequestUri("request_uri was already used")
    if row.expires_at <= now:
        raise InvalidRequestUri("request_uri has expired")
    return row


async def open_pushed_request(session: AsyncSession, request_uri: str, client_id: str) -> PushedRequest:
    """The pushed request behind `request_uri`, used or not, row-locked until the transaction ends."""
    return PushedRequest.from_model(await _row(session, request_uri, client_id, for_update=True))


async def get_pushed_request(
    session: AsyncSession, request_uri: str, client_id: str, *, now: datetime | None = None
) -> PushedRequest:
    """The pushed request, provided it is still unused and live; reading it does not use it up."""
    row = await _live(session, request_uri, client_id, now or datetime.now(UTC), for_update=False)
    return PushedRequest.from_model(row)


async def consume_pushed_request(
    uow: UnitOfWork, request_uri: str, client_id: str, *, now: datetime | None = None
) -> PushedRequest:
    """Use the pushed request once (row-locked): later attempts, expired or other clients' uris are refused."""
    now = now or datetime.now(UTC)
    row = await _live(uow.session, request_uri, client_id, now, for_update=True)
    row.consumed_at = now
    await uow.session.flush()
    return PushedRequest.from_model(row)
