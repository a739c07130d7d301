"""Where the authorization server's endpoints live and how long what it issues lives."""

from __future__ import annotations

from dataclasses import dataclass

from obank.settings import Settings

# Paths, relative to the issuer. The authorization and userinfo endpoints join them with the login flow.
JWKS_PATH = "/oauth2/jwks"
PAR_PATH = "/oauth2/par"
TOKEN_PATH = "/oauth2/token"  # noqa: S105
INTROSPECTION_PATH = "/oauth2/introspect"
REVOCATION_PATH = "/oauth2/revoke"
REGISTRATION_PATH = "/connect/register"
ADMIN_CLIENTS_PATH = "/admin/v1/oauth-clients"
OPENID_CONFIGURATION_PATH = "/.well-known/openid-configuration"
OAUTH_METADATA_PATH = "/.well-known/oauth-authorization-server"

ACCESS_TOKEN_LIFETIME_S = 300  # "a few minutes": sender-constrained, and revocation reaches the gateway by event
# RFC 9126 s2.2 / FAPI 2.0 SP s5.3.2.2: the request_uri must expire in under 600 s; 90 s covers a login.
PAR_LIFETIME_S = 90
# A request_uri is consumed at its first use; the authorization it starts (sign-in, TOTP, consent) then
# lives on its own, this long, however slow the person is within it.
AUTHORIZATION_SESSION_LIFETIME_S = 600
# RFC 7523 s3: exp bounds an assertion; we accept assertions living at most this long from now.
CLIENT_ASSERTION_MAX_LIFETIME_S = 300
# FAPI 2.0 SP s5.3.2.1 note: accept iat/nbf up to 10 s ahead, refuse over 60 s ahead.
CLOCK_SKEW_S = 60
# Allowance for an assertion's exp that just passed (clock skew the other way).
EXPIRY_LEEWAY_S = 10
# How long a process signs with a cached key after another process rotated it.
SIGNING_KEY_CACHE_S = 30
INITIAL_ACCESS_TOKEN_LIFETIME_S = 24 * 3600


@dataclass(frozen=True, slots=True)
class OAuthConfig:
    """The issuer identifier (RFC 8414 s2) and the absolute URLs derived from it."""

    issuer: str
    access_token_lifetime_s: int = ACCESS_TOKEN_LIFETIME_S
    par_lifetime_s: int = PAR_LIFETIME_S
    authorization_session_lifetime_s: int = AUTHORIZATION_SESSION_LIFETIME_S
    refresh_token_rotation_grace_s: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> OAuthConfig:
        """`OBANK_ISSUER`, else the address `obank serve` listens on."""
        return cls(
            issuer=settings.public_base_url(), refresh_token_rotation_grace_s=settings.refresh_token_rotation_grace_s
        )

    def url(self, path: str) -> str:
        return self.issuer + path

    @property
    def token_endpoint(self) -> str:
        return self.url(TOKEN_PATH)

    @property
    def par_endpoint(self) -> str:
        return self.url(PAR_PATH)

    @property
    def resource_audience(self) -> str:
        """The `aud` of access tokens: the platform's resource server, reached at the issuer's origin."""
        return self.issuer

    @property
    def key_publication_s(self) -> int:
        """How long a retired signing key stays in the JWKS: every token it may have signed has expired."""
        return self.access_token_lifetime_s + SIGNING_KEY_CACHE_S + CLOCK_SKEW_S
