"""The gateway's request guard: every request passes here before any upstream sees it.

In order: request size, the route's policy, a rate limit on unauthenticated endpoints by IP, then for
protected routes: bearer token (header only), signature/issuer/audience/expiry, certificate binding on
the connection's certificate (native TLS, or RFC 9440 `Client-Cert` from the trusted proxy), first-party
or Open Banking family, live grant and consent, subject kind, scopes, staff roles and authentication
strength, rate limits by client, customer and IP. A request that passes goes upstream without the caller's
bearer token, with the principal handed over in the ASGI scope (`HandedPrincipal`): an upstream in this
process takes it from there, an HTTP upstream gets it signed as a fresh internal assertion by the proxy.
"""

from __future__ import annotations

import base64
import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import GatewayMetrics
from gateway.policy import UNMATCHED, Family, RoutePolicy, family_of, policy_for
from gateway.ratelimit import RateClass, RateLimiter, classify
from gateway.refusals import Refusal, send_refusal
from gateway.tokens import AccessTokenVerifier, TokenRejected, VerifiedToken
from obank.claims import ACR_SCA, PrivateClaims, SubjectKind
from obank.correlation import current_correlation_id
from obank.log import get_logger
from obank.ob_errors import OBErrorCode
from obank.principal import (
    HANDED_PRINCIPAL,
    PRINCIPAL_HEADER,
    HandedPrincipal,
    InternalAssertions,
    Principal,
    PrincipalKind,
)
from obank.revocation import RevocationList, denials_of

_log = get_logger("gateway.guard")

_PRINCIPAL_HEADER = PRINCIPAL_HEADER.encode()
_STRIPPED_HEADERS = frozenset({_PRINCIPAL_HEADER, b"authorization"})
_PRINCIPAL_KINDS: dict[SubjectKind, PrincipalKind] = {
    SubjectKind.CUSTOMER: "customer",
    SubjectKind.STAFF: "staff",
    SubjectKind.CLIENT: "client",
}


def certificate_thumbprint(scope: Scope) -> str | None:
    """RFC 8705 s3.1 `x5t#S256` of the client certificate on this connection (from the TLS extension)."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain")
    if not chain:
        return None
    pem: str = chain[0]
    body = "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))
    digest = hashlib.sha256(base64.b64decode(body)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope["headers"] if key == name]


def _bearer_token(scope: Scope) -> str:
    query: bytes = scope.get("query_string", b"")
    if b"access_token" in query and any(key == "access_token" for key, _ in parse_qsl(query.decode("latin-1"))):
        raise Refusal(
            400,
            "token_in_query",
            "access tokens go in the Authorization header only",
            "invalid_request",
            ob_error_code=OBErrorCode.FIELD_UNEXPECTED,
            ob_path="access_token",
        )
    values = _header(scope, b"authorization")
    if not values:
        raise Refusal(401, "missing_token", "an access token is required")
    if len(values) > 1:
        raise Refusal(
            400,
            "several_authorization_headers",
            "send one Authorization header",
            "invalid_request",
            ob_error_code=OBErrorCode.HEADER_INVALID,
            ob_path="Authorization",
        )
    scheme, _, token = values[0].decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Refusal(401, "malformed_authorization", "use the Bearer scheme (RFC 6750)", "invalid_token")
    return token


def _list(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        return frozenset(str(item) for item in value)
    return frozenset()


@dataclass(frozen=True, slots=True)
class Guard:
    """What the guard checks against: the token verifier, the deny-list, limits, and the assertion key."""

    verifier: AccessTokenVerifier
    revocations: RevocationList
    assertions: InternalAssertions
    limiter: RateLimiter
    metrics: GatewayMetrics

    async def authenticate(self, scope: Scope, policy: RoutePolicy) -> Principal:
        """The principal behind the request's token, or a Refusal naming the first check that failed."""
        token = _bearer_token(scope)
        try:
            verified = await self.verifier.verify(token)
        except TokenRejected as exc:
            ob_code = OBErrorCode.TOKEN_EXPIRED if exc.reason == "expired" else None
            raise Refusal(401, exc.reason, exc.description, "invalid_token", ob_error_code=ob_code) from None
        claims = verified.claims
        private = PrivateClaims.from_claims(claims)
        self._check_binding(scope, policy, verified, private)
        jti = str(claims.get("jti") or "") or None
        await self._check_live(jti, private)
        kind = None if private.subject_kind is None else _PRINCIPAL_KINDS[private.subject_kind]
        if kind is None or (policy.subject_kinds and kind not in policy.subject_kinds):
            raise Refusal(
                403, "wrong_subject", "this token does not speak for who this API serves", "insufficient_scope"
            )
        scopes = _list(claims.get("scope"))
        missing = policy.scopes - scopes
        if missing:
            wanted = " ".join(sorted(policy.scopes))
            raise Refusal(403, "insufficient_scope", f"requires the scope {wanted}", "insufficient_scope", wanted)
        roles = frozenset(private.roles) if kind == "staff" else frozenset()
        if policy.roles and not policy.roles & roles:
            raise Refusal(
                403, "insufficient_role", "requires one of the staff roles: " + ", ".join(sorted(policy.roles))
            )
        acr = claims.get("acr") if isinstance(claims.get("acr"), str) else None
        if policy.family is Family.ADMIN and acr != ACR_SCA:
            # RFC 9470 s3: a step-up to password + TOTP is what would make this token acceptable.
            raise Refusal(401, "insufficient_acr", "requires strong authentication", "insufficient_user_authentication")
        subject = str(claims["sub"])
        if kind == "customer":
            # Upstreams know customers by core banking's id; `sub` is the sign-in identity.
            subject = private.customer_id or ""
            if not subject:
                raise Refusal(401, "malformed", "the access token names no customer", "invalid_token")
        return Principal(
            subject=subject,
            kind=kind,
            interaction_id=current_correlation_id(),
            client_id=str(claims.get("client_id") or "") or None,
            scopes=scopes,
            roles=roles,
            consent_id=private.consent_id,
            certificate_thumbprint=self._bound_thumbprint(claims),
            acr=acr,
            token_id=jti,
            grant_id=private.grant_id,
            auth_time=claims["auth_time"] if type(claims.get("auth_time")) is int else None,
        )

    @staticmethod
    def _bound_thumbprint(claims: Any) -> str | None:
        cnf = claims.get("cnf")
        value = cnf.get("x5t#S256") if isinstance(cnf, dict) else None
        return value if isinstance(value, str) else None

    def _check_binding(
        self, scope: Scope, policy: RoutePolicy, verified: VerifiedToken, private: PrivateClaims
    ) -> None:
        bound = self._bound_thumbprint(verified.claims)
        if bound is None:
            if policy.family is not Family.FIRST_PARTY:
                raise Refusal(401, "unbound_token", "this API needs a certificate-bound token", "invalid_token")
        else:
            presented = certificate_thumbprint(scope)
            if presented is None:
                raise Refusal(
                    401, "certificate_missing", "present the certificate the token is bound to", "invalid_token"
                )
            if presented != bound:
                raise Refusal(401, "certificate_mismatch", "the token is bound to another certificate", "invalid_token")
        if policy.family is Family.FIRST_PARTY and not private.first_party:
            raise Refusal(401, "not_first_party", "this API serves the bank's own apps only", "invalid_token")

    async def _check_live(self, jti: str | None, private: PrivateClaims) -> None:
        if await self.revocations.first_revoked(denials_of(jti, private.grant_id, private.consent_id)):
            raise Refusal(401, "revoked", "the authorisation behind this token has been withdrawn", "invalid_token")

    async def limit(self, rate_class: RateClass | None, identities: Sequence[str]) -> None:
        if rate_class is None:
            return
        retry_after = await self.limiter.hit(rate_class, identities)
        if retry_after is not None:
            self.metrics.rate_limited(rate_class.value)
            raise Refusal(429, "rate_limited", "too many requests", retry_after_s=max(1, math.ceil(retry_after)))


class GuardMiddleware:
    """ASGI middleware applying `Guard` to every HTTP request, then handing it to the routing table."""

    def __init__(self, app: ASGIApp, guard: Guard, *, max_body_bytes: int, cors_origins: Sequence[str] = ()) -> None:
        self.app = app
        self.guard = guard
        self.max_body_bytes = max_body_bytes
        self.cors_origins = frozenset(cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        policy = policy_for(method, path)
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._handle(scope, receive, send_observed, policy)
        except Refusal as refusal:
            # No rule admitted the path: it still answers in its own family's format.
            family = family_of(path) if policy.family is Family.PUBLIC or policy is UNMATCHED else policy.family
            if refusal.status in (401, 403) and refusal.reason != "missing_token":
                self.guard.metrics.token_rejected(refusal.reason)
            _log.info("request_refused", reason=refusal.reason, status=refusal.status, route=policy.name)
            await send_refusal(send_observed, refusal, family, current_correlation_id())
        finally:
            self.guard.metrics.observe_request(policy.name, method, status, time.perf_counter() - started)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, policy: RoutePolicy) -> None:
        declared = _header(scope, b"content-length")
        if declared and (not declared[0].isdigit() or int(declared[0]) > self.max_body_bytes):
            raise Refusal(413, "request_too_large", f"request bodies are limited to {self.max_body_bytes} bytes")
        ip = scope["client"][0] if scope.get("client") else "unknown"
        if not policy.needs_token:
            await self.guard.limit(classify(scope["method"], scope["path"]), [f"ip:{ip}"])
            # The authorization server's own endpoints read Authorization (userinfo, registration): kept.
            keep = [(key, value) for key, value in scope["headers"] if key != _PRINCIPAL_HEADER]
            await _call_limited(self.app, _unhanded(scope, keep), receive, send, self.max_body_bytes)
            return
        headers = [(key, value) for key, value in scope["headers"] if key not in _STRIPPED_HEADERS]
        if self._is_preflight(scope):
            await self.app(_unhanded(scope, headers), receive, send)
            return
        if policy is UNMATCHED:
            raise Refusal(404, "not_found", "no such resource")
        principal = await self.guard.authenticate(scope, policy)
        # IP budgets guard the endpoints without a token; behind a token the caller is known. The bank's own
        # apps are one client shared by every customer, so only TPPs are limited per client.
        identities = []
        if principal.client_id and policy.family is not Family.FIRST_PARTY:
            identities.append(f"client:{principal.client_id}")
        if principal.kind in ("customer", "staff"):
            identities.append(f"{principal.kind}:{principal.subject}")
        await self.guard.limit(policy.rate_class, identities)
        assert policy.audience is not None  # every protected rule names its upstream
        handed = HandedPrincipal(principal, policy.audience, self.guard.assertions)
        upstream = {**scope, "headers": headers, HANDED_PRINCIPAL: handed}
        await _call_limited(self.app, upstream, receive, send, self.max_body_bytes)

    def _is_preflight(self, scope: Scope) -> bool:
        """A CORS preflight for a first-party route from a configured origin (it carries no credentials)."""
        if scope["method"] != "OPTIONS" or not self.cors_origins:
            return False
        origin = _header(scope, b"origin")
        return (
            bool(origin)
            and origin[0].decode("latin-1") in self.cors_origins
            and bool(_header(scope, b"access-control-request-method"))
            and family_of(scope["path"]) is Family.FIRST_PARTY
        )


def _unhanded(scope: Scope, headers: list[tuple[bytes, bytes]]) -> Scope:
    """`scope` with `headers` and no principal handed over: only this guard hands one, after its checks."""
    passed = {**scope, "headers": headers}
    passed.pop(HANDED_PRINCIPAL, None)
    return passed


class _BodyLimit:
    """Counts a streamed request body; past the limit the app sees a disconnect and its reply is dropped."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive, self._send, self.limit = receive, send, limit
        self.received = 0
        self.exceeded = False
        self.response_started = False

    async def receive(self) -> Message:
        if self.exceeded:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.exceeded = True
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: Message) -> None:
        if self.exceeded and not self.response_started:
            return
        if message["type"] == "http.response.start":
            self.response_started = True
        await self._send(message)


async def _call_limited(app: ASGIApp, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    body = _BodyLimit(receive, send, limit)
    try:
        await app(scope, body.receive, body.send)
    except Exception:
        if not body.exceeded:
            raise
    if body.exceeded and not body.response_started:
        raise Refusal(413, "request_too_large", f"request bodies are limited to {limit} bytes")
