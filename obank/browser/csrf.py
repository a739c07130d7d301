"""CSRF tokens: a random `__Host-` cookie, and form tokens that are its keyed hash bound to the session.

OWASP's "signed double-submit cookie": a cross-site form cannot read the cookie to compute the token,
and binding it to the session id means a token from before sign-in stops working after it.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import uuid

from obank.crypto import KeyRing

CSRF_COOKIE = "__Host-obank_csrf"
CSRF_FIELD = "csrf_token"
SIGN_IN_PAGES = "auth-csrf"  # the authorization server's pages; each web surface binds to its own purpose


def new_cookie_value() -> str:
    return secrets.token_urlsafe(32)


def form_token(keyring: KeyRing, cookie_value: str, session_id: uuid.UUID | None, purpose: str = SIGN_IN_PAGES) -> str:
    """The token every form of this browser carries while this session (or none) is current."""
    binding = f"{cookie_value}|{session_id or ''}".encode()
    return base64.urlsafe_b64encode(keyring.keyed_hash(purpose, binding)).rstrip(b"=").decode()


def is_valid(
    keyring: KeyRing,
    cookie_value: str | None,
    session_id: uuid.UUID | None,
    submitted: str | None,
    purpose: str = SIGN_IN_PAGES,
) -> bool:
    if not cookie_value or not submitted:
        return False
    return hmac.compare_digest(form_token(keyring, cookie_value, session_id, purpose), submitted)
