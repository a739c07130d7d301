"""Refusals of the staff identity and grant API; each carries its status and stable code (`ProblemRoute` renders
them, as it renders the identities domain's own)."""

from __future__ import annotations

from auth_server.errors import AuthError


class IdentityLookupInvalid(AuthError):
    status = 422
    code = "invalid_request"
    title = "Name exactly one of customer_id and username"


class IdentityNotLocked(AuthError):
    status = 409
    code = "identity_not_locked"
    title = "This login is not locked"


class NoSecondFactor(AuthError):
    status = 409
    code = "mfa_not_enrolled"
    title = "This login has no TOTP or recovery codes to reset"


class GrantNotFound(AuthError):
    status = 404
    code = "grant_not_found"
    title = "No such grant"
