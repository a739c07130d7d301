"""Every table of the OAuth server: importing this module registers them in auth_server's metadata."""

from __future__ import annotations

from auth_server.oauth.authorize.models import AuthorizationCode, AuthorizationSession
from auth_server.oauth.client_auth.models import UsedClientAssertion
from auth_server.oauth.clients.models import OAuthClient
from auth_server.oauth.grants.models import OAuthGrant
from auth_server.oauth.keys.models import SigningKey
from auth_server.oauth.par.models import PushedAuthorizationRequest
from auth_server.oauth.registration.models import InitialAccessToken
from auth_server.oauth.tokens.models import IssuedToken

__all__ = [
    "AuthorizationCode",
    "AuthorizationSession",
    "InitialAccessToken",
    "IssuedToken",
    "OAuthClient",
    "OAuthGrant",
    "PushedAuthorizationRequest",
    "SigningKey",
    "UsedClientAssertion",
]
