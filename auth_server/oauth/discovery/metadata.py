"""The metadata document, built from what the server actually does (its capabilities), nothing more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auth_server.oauth.clients.schemas import SUPPORTED_AUTHORIZATION_DETAILS_TYPES, SUPPORTED_SCOPES
from auth_server.oauth.config import (
    INTROSPECTION_PATH,
    JWKS_PATH,
    PAR_PATH,
    REGISTRATION_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    OAuthConfig,
)
from auth_server.oauth.jose import SERVER_SIGNING_ALGORITHMS, SIGNING_ALGORITHMS

CONFIDENTIAL_AUTH_METHODS = ("private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth")
# `none`: the bank's own public apps (registration refuses it for anyone else), which use the code flow only.
PUBLIC_AUTH_METHOD = "none"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What this deployment serves; the authorization endpoint and user-facing grants extend it when mounted."""

    grant_types: tuple[str, ...] = ("client_credentials",)
    token_endpoint_auth_methods: tuple[str, ...] = CONFIDENTIAL_AUTH_METHODS
    authorization_endpoint_path: str | None = None
    userinfo_endpoint_path: str | None = None
    acr_values: tuple[str, ...] = ()
    claims: tuple[str, ...] = ()


def _client_auth_methods(capabilities: Capabilities) -> list[str]:
    """The token endpoint's methods; public clients exist only where the authorization code flow is served."""
    methods = list(capabilities.token_endpoint_auth_methods)
    if "authorization_code" in capabilities.grant_types and PUBLIC_AUTH_METHOD not in methods:
        methods.append(PUBLIC_AUTH_METHOD)
    return methods


def build_metadata(config: OAuthConfig, capabilities: Capabilities, *, openid: bool) -> dict[str, Any]:
    """RFC 8414 s2 (plus OpenID Connect Discovery s3 when `openid`): every value true of this server."""
    client_auth_methods = _client_auth_methods(capabilities)
    document: dict[str, Any] = {
        "issuer": config.issuer,
        "jwks_uri": config.url(JWKS_PATH),
        "token_endpoint": config.url(TOKEN_PATH),
        "pushed_authorization_request_endpoint": config.url(PAR_PATH),
        "require_pushed_authorization_requests": True,  # RFC 9126 s5; FAPI 2.0 SP s5.3.2.2
        "introspection_endpoint": config.url(INTROSPECTION_PATH),
        "revocation_endpoint": config.url(REVOCATION_PATH),
        "registration_endpoint": config.url(REGISTRATION_PATH),
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(capabilities.grant_types),
        "token_endpoint_auth_methods_supported": client_auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        # Introspection answers confidential clients only (tokens.router), so never `none`.
        "introspection_endpoint_auth_methods_supported": [m for m in client_auth_methods if m != PUBLIC_AUTH_METHOD],
        "introspection_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": client_auth_methods,  # RFC 7009 s2.1: public clients too
        "revocation_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        "code_challenge_methods_supported": ["S256"],
        "tls_client_certificate_bound_access_tokens": True,  # RFC 8705 s3.3
        "authorization_response_iss_parameter_supported": True,  # RFC 9207 s3
        "authorization_details_types_supported": list(SUPPORTED_AUTHORIZATION_DETAILS_TYPES),  # RFC 9396 s10
        "request_parameter_supported": False,
        # The request_uri parameter is accepted, holding only references this server issued (RFC 9126 s2.2).
        "request_uri_parameter_supported": True,
    }
    if capabilities.authorization_endpoint_path is not None:
        document["authorization_endpoint"] = config.url(capabilities.authorization_endpoint_path)
    if openid:
        document["subject_types_supported"] = ["public"]
        document["id_token_signing_alg_values_supported"] = list(SERVER_SIGNING_ALGORITHMS)
        document["claims_parameter_supported"] = True  # openbanking_intent_id travels in `claims`
        if capabilities.userinfo_endpoint_path is not None:
            document["userinfo_endpoint"] = config.url(capabilities.userinfo_endpoint_path)
        if capabilities.acr_values:
            document["acr_values_supported"] = list(capabilities.acr_values)
        if capabilities.claims:
            document["claims_supported"] = list(capabilities.claims)
    return document
