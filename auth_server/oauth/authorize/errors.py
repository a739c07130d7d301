"""The authorization endpoint's two kinds of refusal: a page (client or redirect URI not trusted) or a redirect."""

from __future__ import annotations

from auth_server.errors import AuthError
from auth_server.oauth.authorize.schemas import PendingAuthorization


class AuthorizationRefused(AuthError):
    """A request that cannot go back to the client safely (RFC 6749 s4.1.2.1): shown as a page, never redirected."""

    status = 400
    code = "authorization_refused"
    title = "This request from the app or website cannot be completed"


class AuthorizationFailed(Exception):
    """An authorization that ends in an error the client must hear: 303 to its redirect URI (RFC 6749 s4.1.2.1)."""

    def __init__(self, pending: PendingAuthorization, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.pending = pending
        self.error = error
        self.description = description
