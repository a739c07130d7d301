"""Authlib adapter: RFC 7591 s2 well-formedness of client metadata (URIs, JWK Set, contacts), nothing more."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7591 import ClientMetadataClaims  # type: ignore[import-untyped]
from joserfc.errors import JoseError

from auth_server.oauth.clients.errors import MalformedClientMetadata


def check_metadata_form(metadata: dict[str, Any]) -> None:
    """Authlib's RFC 7591 claim checks; our FAPI rules (auth methods, algorithms, redirect URIs) come after."""
    # Only the claims Authlib checks by form; it would default the auth method to client_secret_basic.
    claims = ClientMetadataClaims({k: v for k, v in metadata.items() if v not in (None, [], "")}, {})
    try:
        claims.validate()
    except (JoseError, ValueError) as exc:
        raise MalformedClientMetadata(str(getattr(exc, "description", None) or exc)) from exc
