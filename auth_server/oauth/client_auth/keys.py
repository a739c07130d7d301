"""A client's public keys: its registered JWK Set, or the one at its jwks_uri (fetched, cached)."""

from __future__ import annotations

import time
from datetime import datetime

import httpx
from joserfc.jwk import KeySet

from auth_server.oauth.client_auth.errors import ClientKeysUnavailable
from auth_server.oauth.clients.schemas import ClientRecord
from auth_server.oauth.jose import import_public_key_set

JWKS_URI_CACHE_S = 300.0
JWKS_URI_REFETCH_S = 10.0  # an unknown kid refetches at most this often
MAX_JWKS_BYTES = 64 * 1024


class ClientKeys:
    """Parsed key sets per client, so no request pays for parsing or fetching them again."""

    def __init__(self, http: httpx.AsyncClient | None = None, *, refetch_after_s: float = JWKS_URI_REFETCH_S) -> None:
        self._http = http
        self._refetch_after_s = refetch_after_s
        self._inline: dict[tuple[str, datetime], KeySet] = {}
        self._remote: dict[str, tuple[float, KeySet]] = {}

    async def keys(self, client: ClientRecord, *, kid: str | None = None) -> KeySet:
        """The client's key set; with `kid` not in a cached remote set, refetched (rate-limited)."""
        if client.jwks is not None:
            cache_key = (client.client_id, client.updated_at)
            cached = self._inline.get(cache_key)
            if cached is None:
                cached = import_public_key_set(client.jwks)
                self._inline[cache_key] = cached
            return cached
        if client.jwks_uri is None:
            raise ClientKeysUnavailable("the client registered no keys")
        now = time.monotonic()
        entry = self._remote.get(client.jwks_uri)
        stale = entry is None or now - entry[0] > JWKS_URI_CACHE_S
        unknown_kid = entry is not None and kid is not None and all(k.kid != kid for k in entry[1].keys)
        if stale or (unknown_kid and entry is not None and now - entry[0] >= self._refetch_after_s):
            entry = (now, await self._fetch(client.jwks_uri))
            self._remote[client.jwks_uri] = entry
        assert entry is not None
        return entry[1]

    async def _fetch(self, uri: str) -> KeySet:
        if self._http is None:
            raise ClientKeysUnavailable("fetching jwks_uri is not configured")
        try:
            response = await self._http.get(uri, timeout=5.0, follow_redirects=False)
            response.raise_for_status()
            if len(response.content) > MAX_JWKS_BYTES:
                raise ClientKeysUnavailable("the JWK Set at jwks_uri is too large")
            return import_public_key_set(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            raise ClientKeysUnavailable(f"jwks_uri: {exc}") from exc
