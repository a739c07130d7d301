"""The composed gateway (every app in-process) over real TLS, and tokens issued by its authorization server."""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp

from audit.trail import platform_units
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.config import OAuthConfig
from auth_server.oauth.jose import sign_jwt
from auth_server.oauth.server import OAuthServer
from auth_server.oauth.tokens.models import SubjectKind
from auth_server.oauth.tokens.service import TokenService
from bank.app import create_app
from gateway.ratelimit import RateLimiter
from obank.certs import certificate_thumbprint_s256
from obank.runtime import Platform, build_platform
from obank.server import bind_socket, build_server
from obank.settings import Settings
from tests.auth_server.helpers import TEST_ACTOR
from tests.auth_server.oauth.conftest import Pki, registrar
from tests.conftest import TEST_KEYS


@dataclass
class RunningGateway:
    """`obank serve`'s app listening on 127.0.0.1 over TLS, with a token service of the same issuer."""

    app: ASGIApp
    platform: Platform
    port: int
    pki: Pki
    issuer_server: OAuthServer
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def tokens(self) -> TokenService:
        return self.issuer_server.tokens

    def http(self, cert: str | None = None) -> httpx.AsyncClient:
        """An HTTPS client trusting the test CA, presenting the named client certificate (or none)."""
        context = ssl.create_default_context(cafile=self.pki.ca_file)
        if cert is not None:
            cert_file, key_file = self.pki.pair(cert)
            context.load_cert_chain(cert_file, key_file)
        client = httpx.AsyncClient(base_url=self.issuer, verify=context, timeout=10.0)
        self._clients.append(client)
        return client

    def thumbprint(self, cert: str) -> str:
        return certificate_thumbprint_s256(self.pki.certificate(cert))

    async def client_id(self, *, first_party: bool, scope: str = "openid accounts payments") -> str:
        """Register a client: first-party public (no secret), or a confidential TPP."""
        register = registrar(self.platform)
        if first_party:
            client = await register(
                method="none", first_party=True, grant_types=("authorization_code", "refresh_token"), scope=scope
            )
        else:
            client = await register(scope=scope)
        return client.client_id

    async def token(
        self,
        client_id: str,
        *,
        subject: str,
        kind: SubjectKind = SubjectKind.CUSTOMER,
        scopes: Sequence[str] = ("openid", "accounts", "payments"),
        cert: str | None = None,
        consent_id: str | None = None,
        grant_id: uuid.UUID | None = None,
        acr: str | None = "urn:openbanking:psd2:sca",
        roles: Sequence[str] = (),
        now: datetime | None = None,
    ) -> str:
        """An access token exactly as the authorization server issues it (stored, audited, signed)."""
        async with platform_units(self.platform).begin(TEST_ACTOR) as uow:
            client = await clients_service.get_client(uow.session, client_id)
            issued = await self.tokens.issue_access_token(
                uow,
                client=client,
                grant_type="authorization_code",
                subject=subject,
                subject_kind=kind,
                scopes=list(scopes),
                certificate_thumbprint=None if cert is None else self.thumbprint(cert),
                consent_id=consent_id,
                acr=acr,
                grant_id=grant_id,
                extra_claims=({"roles": list(roles)} if roles else {})
                | ({"customer_id": subject} if kind is SubjectKind.CUSTOMER else {}),
                now=now,
            )
        return issued.access_token

    async def forged(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        """A JWT signed with the server's real key but with whatever header and claims a test needs."""
        kid, key = await self.tokens.keys.signing_key("ES256")
        return sign_jwt({"kid": kid, "alg": "ES256", **header}, claims, key)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
        await self.issuer_server.close()


async def start_gateway(
    settings: Settings, database_url: str, pki: Pki, *, rate_limiter: RateLimiter | None = None, **overrides: Any
) -> tuple[RunningGateway, asyncio.Task[None], Any]:
    """Bind a port, build the platform with that issuer, and serve the composed app over TLS."""
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    configured = settings.model_copy(update={"issuer": f"https://127.0.0.1:{port}", **overrides})
    platform = build_platform(configured, database_url)
    app = create_app(platform, rate_limiter=rate_limiter)
    server = build_server(app, pki.server)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(15):
        while not server.started:
            await asyncio.sleep(0.01)
    # A second authorization server of the same issuer over the same database: it issues tokens for tests.
    issuer = OAuthServer.build(platform, config=OAuthConfig(issuer=configured.public_base_url()))
    return RunningGateway(app, platform, port, pki, issuer), task, server


@asynccontextmanager
async def serving_gateway(
    directory: Path, database_url: str, pki: Pki, *, rate_limiter: RateLimiter | None = None, **settings: Any
) -> AsyncIterator[RunningGateway]:
    """The composed gateway over TLS on the test database, with the test keys and `settings`; stopped after."""
    configured = Settings(
        env="test",
        data_dir=directory / "var",
        certs_dir=directory / "certs",
        database_url=database_url,
        encryption_keys=json.dumps(TEST_KEYS),
        active_encryption_key_id="test-1",
        **settings,
    )
    running, task, server = await start_gateway(configured, database_url, pki, rate_limiter=rate_limiter)
    try:
        yield running
    finally:
        await running.aclose()
        server.should_exit = True
        await task
        await running.platform.close()
