"""Client authentication's internal refusals (each becomes `invalid_client` where it is caught)."""

from __future__ import annotations


class ClientKeysUnavailable(Exception):
    """The client's jwks_uri could not be fetched or holds no valid JWK Set."""
