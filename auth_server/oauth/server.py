"""The OAuth server's per-process parts, wired once: config, key cache, client authentication, token service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

import httpx
from fastapi import Depends, Request

from audit.trail import platform_units
from auth_server.oauth.client_auth.keys import JWKS_URI_REFETCH_S, ClientKeys
from auth_server.oauth.client_auth.replay import ReplayCache, build_replay_cache
from auth_server.oauth.client_auth.service import AuthenticatedClient, ClientAuthenticator
from auth_server.oauth.clients.cache import ClientCache
from auth_server.oauth.config import OAuthConfig
from auth_server.oauth.discovery.metadata import Capabilities
from auth_server.oauth.keys.service import SigningKeys
from auth_server.oauth.tokens.schemas import TokenResponse
from auth_server.oauth.tokens.service import TokenService
from core_banking.facade import CoreBanking
from core_banking.facade import connect as connect_core_banking
from obank.crypto import KeyRing
from obank.runtime import Platform
from obank.unit_of_work import UnitOfWork

# A grant type's handler at the token endpoint: the client is already authenticated.
GrantHandler = Callable[[UnitOfWork, "OAuthServer", AuthenticatedClient, dict[str, str]], Awaitable[TokenResponse]]


@dataclass
class OAuthServer:
    """Everything the OAuth endpoints share within one process."""

    config: OAuthConfig
    keyring: KeyRing
    keys: SigningKeys
    authenticator: ClientAuthenticator
    tokens: TokenService
    replay_cache: ReplayCache
    clients: ClientCache
    http: httpx.AsyncClient
    capabilities: Capabilities
    core_banking: CoreBanking  # consents and accounts, in this process or over internal HTTP
    grant_handlers: dict[str, GrantHandler] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        platform: Platform,
        *,
        config: OAuthConfig | None = None,
        http: httpx.AsyncClient | None = None,
        capabilities: Capabilities | None = None,
        jwks_uri_refetch_s: float = JWKS_URI_REFETCH_S,
        core_banking: CoreBanking | None = None,
    ) -> OAuthServer:
        config = config or OAuthConfig.from_settings(platform.settings)
        http = http or httpx.AsyncClient()
        keys = SigningKeys(platform_units(platform))
        replay_cache = build_replay_cache(platform.settings.redis_url, platform.side_engine)
        clients = ClientCache(platform.listener)
        return cls(
            config=config,
            keyring=platform.keyring,
            keys=keys,
            authenticator=ClientAuthenticator(
                config, replay_cache, ClientKeys(http, refetch_after_s=jwks_uri_refetch_s), clients
            ),
            tokens=TokenService.build(platform, config, keys),
            replay_cache=replay_cache,
            clients=clients,
            http=http,
            capabilities=capabilities or Capabilities(),
            # Its routes call core banking from their unit of work: in this process, from the side pool.
            core_banking=core_banking or connect_core_banking(platform, callers_hold_connections=True),
        )

    async def close(self) -> None:
        await self.tokens.group_commit.close()
        await self.clients.close()
        await self.replay_cache.close()
        await self.http.aclose()
        await self.core_banking.close()


async def _server(request: Request) -> OAuthServer:
    # async: FastAPI runs a plain `def` dependency in a worker thread, whose GIL hand-offs stall the event loop.
    server: OAuthServer = request.app.state.oauth
    return server


ServerDep = Annotated[OAuthServer, Depends(_server)]
