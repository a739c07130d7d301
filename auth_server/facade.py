"""What other contexts may ask of the authorization server: a TPP's registered keys, and the bank's signature.

UK Open Banking message signing (R/W API Profile, "Message Signing") needs both: a TPP signs a request with
a key it registered with the bank (its client's `jwks` or `jwks_uri`, the keys `private_key_jwt` uses), and
the bank signs a response with its message key, kept sealed and rotated with the token keys
(`obank keys rotate`) and published in the JWK Set at `jwks_uri`. The same key signs the security event tokens
of Open Banking event notifications (`sign_event`). The private key never leaves this context.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from joserfc import jws
from joserfc.jwk import ECKey, OKPKey, RSAKey
from joserfc.registry import HeaderParameter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit.trail import platform_units
from auth_server.oauth.client_auth.errors import ClientKeysUnavailable
from auth_server.oauth.client_auth.keys import ClientKeys
from auth_server.oauth.clients.cache import ClientCache
from auth_server.oauth.jose import candidate_keys
from auth_server.oauth.keys.service import MESSAGE_SIGNING_ALGORITHM, SigningKeys
from obank.runtime import Platform

if TYPE_CHECKING:
    from auth_server.oauth.server import OAuthServer

PublicKey = RSAKey | ECKey | OKPKey


class SigningKeysUnavailable(Exception):
    """A client's keys could not be read (its `jwks_uri` did not answer with a valid JWK Set)."""


# RFC 8417 s2.3: a SET's explicit type, so it cannot be taken for an ID token or an access token.
SECURITY_EVENT_TOKEN_TYPE = "secevent+jwt"  # noqa: S105 (a media type, not a secret)


class EventSigner(Protocol):
    """What signs the bank's security event tokens."""

    async def sign_event(self, claims: Mapping[str, Any]) -> str:
        """A compact JWS SET (RFC 8417) of `claims` by the bank's message key: `alg`, `kid` and `typ`
        (`secevent+jwt`) in its header; its key is published at the issuer's `jwks_uri`."""
        ...


class AuthServer(EventSigner, Protocol):
    """The authorization server as other contexts call it."""

    async def client_signing_key(self, client_id: str, kid: str, alg: str) -> PublicKey | None:
        """The active client's registered public key `kid` fit for `alg`; None if it has none such."""
        ...

    async def sign_message(self, header: Mapping[str, Any], payload: bytes) -> str:
        """A detached compact JWS (RFC 7515 appendix F) of `payload` by the bank's message key.

        `header` holds the protected header's other parameters; `alg` and `kid` are the key's. Every name in
        its `crit` is taken as understood.
        """
        ...

    async def close(self) -> None: ...


def _accept_any(_value: object) -> None:
    """A header parameter the caller defined and checks itself."""


async def _sign_event(keys: SigningKeys, claims: Mapping[str, Any]) -> str:
    kid, key = await keys.message_signing_key()
    header = {"alg": MESSAGE_SIGNING_ALGORITHM, "kid": kid, "typ": SECURITY_EVENT_TOKEN_TYPE}
    payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    token: str = jws.serialize_compact(header, payload, key, algorithms=[MESSAGE_SIGNING_ALGORITHM])
    return token


class InProcessEventSigner:
    """SETs signed with this process's view of the signing keys, for event consumers outside any app."""

    def __init__(self, keys: SigningKeys) -> None:
        self._keys = keys

    async def sign_event(self, claims: Mapping[str, Any]) -> str:
        return await _sign_event(self._keys, claims)


class InProcessAuthServer:
    """The facade over this process's database, key ring and caches."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        keys: SigningKeys,
        clients: ClientCache,
        client_keys: ClientKeys,
        closers: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self._sessions = sessions
        self._keys = keys
        self._clients = clients
        self._client_keys = client_keys
        self._closers = tuple(closers)

    async def client_signing_key(self, client_id: str, kid: str, alg: str) -> PublicKey | None:
        async with self._sessions() as session:
            client = await self._clients.client(session, client_id)
        if client is None or not client.is_active:
            return None
        try:
            keys = await self._client_keys.keys(client, kid=kid)
        except (ClientKeysUnavailable, ValueError) as exc:
            raise SigningKeysUnavailable(str(exc)) from exc
        candidates = candidate_keys(keys, {"alg": alg, "kid": kid})
        return candidates[0] if candidates else None

    async def sign_message(self, header: Mapping[str, Any], payload: bytes) -> str:
        kid, key = await self._keys.message_signing_key()
        protected = {**header, "alg": MESSAGE_SIGNING_ALGORITHM, "kid": kid}
        registry = jws.JWSRegistry(
            header_registry={str(name): HeaderParameter(str(name), _accept_any) for name in header.get("crit", ())},
            algorithms=[MESSAGE_SIGNING_ALGORITHM],
        )
        compact = jws.serialize_compact(
            protected, payload, key, algorithms=[MESSAGE_SIGNING_ALGORITHM], registry=registry
        )
        detached: str = jws.detach_content(compact)
        return detached

    async def sign_event(self, claims: Mapping[str, Any]) -> str:
        return await _sign_event(self._keys, claims)

    async def close(self) -> None:
        for close in self._closers:
            await close()


def connect(platform: Platform) -> AuthServer:
    """The facade with caches of its own (`obank serve --role open_banking`); `close()` releases them."""
    http = httpx.AsyncClient()
    clients = ClientCache(platform.listener)
    keys = SigningKeys(platform_units(platform))
    return InProcessAuthServer(platform.sessions, keys, clients, ClientKeys(http), closers=(clients.close, http.aclose))


def event_signer(platform: Platform) -> EventSigner:
    """The bank's SET signer over `platform`'s database (event consumers of `obank worker` and `obank serve`)."""
    return InProcessEventSigner(SigningKeys(platform_units(platform)))


def sharing(platform: Platform, server: OAuthServer) -> AuthServer:
    """The facade over an OAuth server's own caches in this process (`obank serve`); the server closes them."""
    return InProcessAuthServer(platform.sessions, server.keys, server.clients, server.authenticator.client_keys)
