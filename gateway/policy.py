"""The route policy table: for each request, who may call it (token family, scopes, staff roles) and its name.

One table for the whole platform; the first matching row wins. Upstream services check their own rules
again (defence in depth), but nothing reaches them that this table refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from gateway.ratelimit import RateClass
from obank.roles import StaffRole

ANY_STAFF = frozenset(StaffRole)
SUPPORT = frozenset({StaffRole.SUPPORT, StaffRole.ADMIN})
FRAUD = frozenset({StaffRole.FRAUD_ANALYST, StaffRole.ADMIN})
ADMIN = frozenset({StaffRole.ADMIN})
FRAUD_ANALYST = frozenset({StaffRole.FRAUD_ANALYST})
CASEWORK = frozenset({StaffRole.SUPPORT, StaffRole.FRAUD_ANALYST, StaffRole.ADMIN})
INVESTIGATORS = frozenset({StaffRole.SUPPORT, StaffRole.FRAUD_ANALYST, StaffRole.AUDITOR, StaffRole.ADMIN})


class Family(StrEnum):
    """Which tokens a route accepts and which error format it answers in."""

    PUBLIC = "public"  # no bearer token: the authorization server's own endpoints and pages, health
    FIRST_PARTY = "first_party"  # the bank's own apps: first-party client tokens, problem+json
    OPEN_BANKING = "open_banking"  # TPPs: certificate-bound tokens only, Open Banking error format
    ADMIN = "admin"  # bank staff: certificate-bound or first-party staff tokens with roles and SCA
    # An error format only: the authorization server's endpoints (public rows) answer RFC 6749 errors.
    OAUTH = "oauth"


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    """What a matching request needs; `name` labels metrics and logs (low cardinality)."""

    name: str
    family: Family
    scopes: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    subject_kinds: frozenset[str] = frozenset()
    audience: str | None = None
    rate_class: RateClass | None = None

    @property
    def needs_token(self) -> bool:
        return self.family is not Family.PUBLIC


@dataclass(frozen=True, slots=True)
class Rule:
    methods: frozenset[str] | None
    pattern: re.Pattern[str]
    policy: RoutePolicy


CUSTOMER = frozenset({"customer"})
STAFF = frozenset({"staff"})
ANY_SUBJECT = frozenset({"customer", "client"})
_UUID = r"[^/]+"


def _rule(methods: str | None, pattern: str, policy: RoutePolicy) -> Rule:
    return Rule(None if methods is None else frozenset(methods.split()), re.compile(pattern + r"\Z", re.DOTALL), policy)


def _first_party(name: str, scope: str, audience: str, rate_class: RateClass) -> RoutePolicy:
    return RoutePolicy(name, Family.FIRST_PARTY, frozenset({scope}), frozenset(), CUSTOMER, audience, rate_class)


def _admin(name: str, roles: frozenset[str], rate_class: RateClass, audience: str = "core_banking") -> RoutePolicy:
    return RoutePolicy(name, Family.ADMIN, frozenset(), roles, STAFF, audience, rate_class)


def _open_banking(name: str, scope: str, rate_class: RateClass) -> RoutePolicy:
    return RoutePolicy(
        name, Family.OPEN_BANKING, frozenset({scope}), frozenset(), ANY_SUBJECT, "open_banking", rate_class
    )


# What TPP developers read before they hold a token: the discovery document and each API family's OpenAPI.
OPEN_BANKING_DISCOVERY = RoutePolicy("public.open_banking", Family.PUBLIC)


READS, WRITES, PAYMENTS = RateClass.READS, RateClass.WRITES, RateClass.PAYMENTS
TPP_CLIENT = frozenset({"client"})
OB_EVENTS_READ = RoutePolicy(
    "ob.events.read", Family.OPEN_BANKING, frozenset(), frozenset(), TPP_CLIENT, "open_banking", READS
)
OB_EVENTS_WRITE = RoutePolicy(
    "ob.events.write", Family.OPEN_BANKING, frozenset(), frozenset(), TPP_CLIENT, "open_banking", WRITES
)

RULES: tuple[Rule, ...] = (
    # First-party API of the bank's own apps (customers).
    _rule("GET", r"/api/v1/consents", _first_party("consents.list", "openid", "auth_server", READS)),
    _rule("DELETE", rf"/api/v1/consents/{_UUID}", _first_party("consents.revoke", "openid", "auth_server", WRITES)),
    _rule("GET", r"/api/v1/accounts", _first_party("accounts.list", "accounts", "core_banking", READS)),
    _rule("GET", rf"/api/v1/accounts/{_UUID}", _first_party("accounts.get", "accounts", "core_banking", READS)),
    _rule(
        "GET", rf"/api/v1/accounts/{_UUID}/balances", _first_party("balances.get", "accounts", "core_banking", READS)
    ),
    _rule("GET", rf"/api/v1/accounts/{_UUID}/.+", _first_party("accounts.history", "accounts", "core_banking", READS)),
    _rule("POST", r"/api/v1/transfers", _first_party("transfers.create", "payments", "core_banking", PAYMENTS)),
    _rule("GET", rf"/api/v1/transfers/{_UUID}", _first_party("transfers.get", "payments", "core_banking", READS)),
    _rule("POST", r"/api/v1/payments", _first_party("payments.create", "payments", "core_banking", PAYMENTS)),
    _rule("GET", r"/api/v1/payments", _first_party("payments.list", "accounts", "core_banking", READS)),
    _rule("GET", rf"/api/v1/payments/{_UUID}", _first_party("payments.get", "accounts", "core_banking", READS)),
    _rule(
        "POST",
        rf"/api/v1/payments/{_UUID}/(confirm|cancel)",
        _first_party("payments.decide", "payments", "core_banking", PAYMENTS),
    ),
    _rule("GET", r"/api/v1/scheduled-payments", _first_party("orders.list", "accounts", "core_banking", READS)),
    _rule("POST", r"/api/v1/scheduled-payments", _first_party("orders.create", "payments", "core_banking", PAYMENTS)),
    _rule("GET", rf"/api/v1/scheduled-payments/{_UUID}", _first_party("orders.get", "accounts", "core_banking", READS)),
    _rule(
        "PATCH DELETE",
        rf"/api/v1/scheduled-payments/{_UUID}",
        _first_party("orders.change", "payments", "core_banking", PAYMENTS),
    ),
    _rule(
        "POST",
        rf"/api/v1/scheduled-payments/{_UUID}/(pause|resume)",
        _first_party("orders.pause", "payments", "core_banking", WRITES),
    ),
    _rule("GET", r"/api/v1/beneficiaries", _first_party("payees.list", "accounts", "core_banking", READS)),
    _rule("POST", r"/api/v1/beneficiaries", _first_party("payees.create", "payments", "core_banking", WRITES)),
    _rule("GET", rf"/api/v1/beneficiaries/{_UUID}", _first_party("payees.get", "accounts", "core_banking", READS)),
    _rule(
        "PATCH DELETE",
        rf"/api/v1/beneficiaries/{_UUID}",
        _first_party("payees.change", "payments", "core_banking", WRITES),
    ),
    _rule("POST", r"/api/v1/payee-confirmations", _first_party("payees.confirm", "payments", "core_banking", WRITES)),
    # The customer's notification preferences and messages (notifications).
    _rule(
        "GET PUT",
        r"/api/v1/notification-preferences",
        _first_party("notifications.preferences", "openid", "notifications", WRITES),
    ),
    _rule("GET", r"/api/v1/notifications(/.*)?", _first_party("notifications.read", "openid", "notifications", READS)),
    _rule(None, r"/api/v1/notifications(/.*)?", _first_party("notifications.write", "openid", "notifications", WRITES)),
    # The customer's secure messages with the bank's support staff (notifications).
    _rule("GET", r"/api/v1/conversations(/.*)?", _first_party("messages.read", "openid", "notifications", READS)),
    _rule("POST", r"/api/v1/conversations(/.*)?", _first_party("messages.write", "openid", "notifications", WRITES)),
    # The customer's own sign-in sessions and devices (auth_server).
    _rule("GET", r"/api/v1/sessions", _first_party("sessions.list", "openid", "auth_server", READS)),
    _rule("DELETE", rf"/api/v1/sessions(/{_UUID})?", _first_party("sessions.end", "openid", "auth_server", WRITES)),
    # Staff: webhooks (notifications), the authorization server's client registry, then core banking's admin API.
    _rule("GET", r"/admin/v1/webhooks(/.*)?", _admin("admin.webhooks.read", ANY_STAFF, READS, "notifications")),
    _rule(None, r"/admin/v1/webhooks(/.*)?", _admin("admin.webhooks.write", ADMIN, WRITES, "notifications")),
    # Secure messages: support staff and admins read and answer them (notifications).
    _rule("GET", r"/admin/v1/conversations(/.*)?", _admin("admin.messages.read", SUPPORT, READS, "notifications")),
    _rule("POST", r"/admin/v1/conversations(/.*)?", _admin("admin.messages.write", SUPPORT, WRITES, "notifications")),
    # Fraud analysts only: alerts, payments held for review, the mule list (fraud).
    _rule("GET", r"/admin/v1/fraud(/.*)?", _admin("admin.fraud.read", FRAUD_ANALYST, READS, "fraud")),
    _rule(None, r"/admin/v1/fraud(/.*)?", _admin("admin.fraud.write", FRAUD_ANALYST, WRITES, "fraud")),
    # Investigations (audit): the timeline and decryptions with a reason; the upstream checks finer roles.
    _rule("GET", r"/admin/v1/audit(/.*)?", _admin("admin.audit.read", INVESTIGATORS, READS, "audit")),
    _rule("POST", r"/admin/v1/audit(/.*)?", _admin("admin.audit.decrypt", INVESTIGATORS, WRITES, "audit")),
    # Logins, their sessions and TOTP, and customers' grants (auth_server).
    _rule(
        "GET",
        r"/admin/v1/(identities|grants)(/.*)?",
        _admin("admin.identities.read", INVESTIGATORS, READS, "auth_server"),
    ),
    _rule(
        None, r"/admin/v1/(identities|grants)(/.*)?", _admin("admin.identities.write", CASEWORK, WRITES, "auth_server")
    ),
    _rule("GET", r"/admin/v1/oauth-clients(/.*)?", _admin("admin.clients.read", ANY_STAFF, READS, "auth_server")),
    _rule(None, r"/admin/v1/oauth-clients(/.*)?", _admin("admin.clients.write", ADMIN, WRITES, "auth_server")),
    _rule("GET", r"/admin/v1/.*", _admin("admin.read", ANY_STAFF, READS)),
    _rule("POST", r"/admin/v1/customers", _admin("admin.customers.create", SUPPORT, WRITES)),
    _rule("PUT", rf"/admin/v1/customers/{_UUID}/kyc-status", _admin("admin.customers.kyc", SUPPORT, WRITES)),
    _rule("POST", rf"/admin/v1/accounts/{_UUID}/(freeze|unfreeze)", _admin("admin.accounts.freeze", CASEWORK, WRITES)),
    _rule("POST", rf"/admin/v1/accounts/{_UUID}/close", _admin("admin.accounts.close", SUPPORT, WRITES)),
    # Four-eyes approvals of high-risk actions: any staff may list; the upstream checks who may decide.
    _rule("POST", r"/admin/v1/approvals/.*", _admin("admin.approvals.decide", CASEWORK, WRITES)),
    _rule("POST", rf"/admin/v1/accounts/{_UUID}/(deposits|withdrawals)", _admin("admin.cash", ADMIN, PAYMENTS)),
    _rule("POST", r"/admin/v1/jobs/[^/]+/runs", _admin("admin.jobs.run", ADMIN, WRITES)),
    _rule(None, r"/admin/v1/.*", _admin("admin.write", ADMIN, WRITES)),
    # UK Open Banking v4.0 resources (TPPs): account information, payments, funds confirmation.
    _rule("GET", r"/open-banking/discovery", OPEN_BANKING_DISCOVERY),
    _rule("GET", r"/open-banking/v4\.0/(aisp|pisp|cbpii|events)/openapi\.json", OPEN_BANKING_DISCOVERY),
    # Event subscriptions and aggregated polling: the TPP's client credentials token with any one of its API
    # scopes (Events API, TPPOAuth2Security), which open_banking checks; this table can only require all.
    _rule("GET", r"/open-banking/v4\.0/event-subscriptions", OB_EVENTS_READ),
    _rule("POST PUT DELETE", r"/open-banking/v4\.0/event-subscriptions(/[^/]+)?", OB_EVENTS_WRITE),
    _rule("POST", r"/open-banking/v4\.0/events", OB_EVENTS_WRITE),
    _rule("GET", r"/open-banking/v4\.0/aisp/.*", _open_banking("ob.aisp.read", "accounts", READS)),
    _rule(None, r"/open-banking/v4\.0/aisp/.*", _open_banking("ob.aisp.write", "accounts", WRITES)),
    _rule("GET", r"/open-banking/v4\.0/pisp/.*", _open_banking("ob.pisp.read", "payments", READS)),
    _rule(None, r"/open-banking/v4\.0/pisp/.*", _open_banking("ob.pisp.write", "payments", PAYMENTS)),
    _rule(None, r"/open-banking/v4\.0/cbpii/.*", _open_banking("ob.cbpii", "fundsconfirmations", READS)),
)

# Anything under these prefixes that no rule above admits is refused, never passed through unchecked.
PROTECTED_PREFIXES = ("/api/", "/admin/", "/open-banking/")
UNMATCHED = RoutePolicy("unmatched", Family.FIRST_PARTY)
# A protected path that rules admit for other methods only: the gateway itself answers 405 with `Allow`
# (RFC 9110 s15.5.6) in the path's family's format, before any token is asked for; nothing goes upstream.
METHOD_NOT_ALLOWED = RoutePolicy("method_not_allowed", Family.PUBLIC)


PUBLIC_SECTIONS = frozenset(
    {
        "healthz",
        "readyz",
        "metrics",
        ".well-known",
        "oauth2",
        "connect",
        "login",
        "logout",
        "mfa",
        "staff",
        "account",
        "app",
        "console",
        "static",
        "docs",  # the API documentation page and its assets (bank.api_docs): public, no token
        "openapi",  # the API families' OpenAPI documents and their index (bank.api_docs): public, no token
        "openapi.json",
        "redoc",
    }
)


def _public(path: str) -> RoutePolicy:
    head = path.split("/", 2)[1] if path.startswith("/") else ""
    return RoutePolicy("public." + (head if head in PUBLIC_SECTIONS else "other"), Family.PUBLIC)


def policy_for(method: str, path: str) -> RoutePolicy:
    """The policy of a request; public for anything outside the protected API prefixes."""
    for rule in RULES:
        if (rule.methods is None or method in rule.methods) and rule.pattern.match(path):
            return rule.policy
    if path.startswith(PROTECTED_PREFIXES):
        # OPTIONS stays unmatched: a CORS preflight is answered upstream, any other is no such resource.
        return METHOD_NOT_ALLOWED if method != "OPTIONS" and allowed_methods(path) else UNMATCHED
    return _public(path)


def allowed_methods(path: str) -> frozenset[str]:
    """The methods some rule admits on `path` (rules for every method left aside: they match any request)."""
    return frozenset(
        method for rule in RULES if rule.methods is not None and rule.pattern.match(path) for method in rule.methods
    )


def family_of(path: str) -> Family:
    """The error format of a path, for refusals decided before a rule matched."""
    if path.startswith("/open-banking/"):
        return Family.OPEN_BANKING
    if path.startswith("/admin/"):
        return Family.ADMIN
    if path.startswith("/api/"):
        return Family.FIRST_PARTY
    if path.startswith(OAUTH_PREFIXES):
        return Family.OAUTH
    return Family.PUBLIC


# The authorization server's endpoints: the gateway's own refusals there are RFC 6749 error responses.
OAUTH_PREFIXES = ("/oauth2/", "/.well-known/", "/connect/")
