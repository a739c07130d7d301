"""The OAuth server over real TLS (alone, or with the sign-in pages), registered test clients and assertion helpers."""

from __future__ import annotations

import asyncio
import base64
import contextvars
import hashlib
import hmac
import json
import socket
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey
from starlette.types import ASGIApp
from typer.testing import CliRunner, Result

from audit.trail import platform_units
from auth_server.app import PAGE_PREFIXES
from auth_server.app import create_app as create_pages_app
from auth_server.oauth.app import MOUNT_PREFIXES, create_oauth_app
from auth_server.oauth.client_auth.service import JWT_BEARER_ASSERTION
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.clients.schemas import ClientMetadata
from auth_server.oauth.config import OAuthConfig
from auth_server.oauth.server import OAuthServer
from gateway.routing import PrefixRouter, Route
from obank.actor import Actor
from obank.certs import (
    certificate_pem,
    create_certificate_authority,
    issue_client_certificate,
    issue_server_certificate,
    private_key_pem,
)
from obank.principal import PRINCIPAL_HEADER, Principal, PrincipalKind
from obank.runtime import Platform, build_platform
from obank.server import TLSFiles, bind_socket, build_server
from obank.settings import Settings, get_settings
from tests.conftest import TEST_KEYS, DatabasePool

TPP_SUBJECT = "CN=Test TPP,O=Test TPP Ltd,C=GB"
OTHER_SUBJECT = "CN=Other TPP,O=Other TPP Ltd,C=GB"
REDIRECT_URI = "https://tpp.example/callback"
SigningKey = ECKey | RSAKey | OKPKey


@dataclass(frozen=True)
class Pki:
    """A test CA, the server's certificate, and client certificates (one self-signed, trusted explicitly)."""

    directory: Path
    ca_file: Path
    client_ca_bundle: Path
    server: TLSFiles

    def pair(self, name: str) -> tuple[Path, Path]:
        return self.directory / f"{name}.pem", self.directory / f"{name}.key"

    def certificate(self, name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.pair(name)[0].read_bytes())


def _self_signed(subject: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name.from_rfc4514_string(subject)
    now = time.time()
    import datetime as dt

    start = dt.datetime.fromtimestamp(now - 300, dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("oauth-pki")
    ca_cert, ca_key = create_certificate_authority("OAuth test CA")
    (directory / "ca.pem").write_bytes(certificate_pem(ca_cert))
    server_cert, server_key = issue_server_certificate(ca_cert, ca_key)
    (directory / "server.pem").write_bytes(certificate_pem(server_cert))
    (directory / "server.key").write_bytes(private_key_pem(server_key))
    for name, subject in (("tpp", TPP_SUBJECT), ("other", OTHER_SUBJECT)):
        cert, key = issue_client_certificate(ca_cert, ca_key, subject)
        (directory / f"{name}.pem").write_bytes(certificate_pem(cert))
        (directory / f"{name}.key").write_bytes(private_key_pem(key))
    self_signed, self_key = _self_signed("CN=Self Signed TPP")
    (directory / "selfsigned.pem").write_bytes(certificate_pem(self_signed))
    (directory / "selfsigned.key").write_bytes(private_key_pem(self_key))
    # The server trusts the CA and, explicitly, the one self-signed client certificate (RFC 8705 s2.2).
    bundle = directory / "client-ca-bundle.pem"
    bundle.write_bytes(certificate_pem(ca_cert) + certificate_pem(self_signed))
    return Pki(
        directory, directory / "ca.pem", bundle, TLSFiles(directory / "server.pem", directory / "server.key", bundle)
    )


@dataclass
class RunningAS:
    """One authorization server instance listening on 127.0.0.1 over TLS."""

    app: FastAPI
    server: OAuthServer
    port: int
    pki: Pki
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return self.server.config.issuer

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def http(self, cert: str | None = "tpp") -> httpx.AsyncClient:
        """An HTTPS client trusting the test CA, presenting the named client certificate (or none)."""
        context = ssl.create_default_context(cafile=self.pki.ca_file)
        if cert is not None:
            cert_file, key_file = self.pki.pair(cert)
            context.load_cert_chain(cert_file, key_file)
        client = httpx.AsyncClient(base_url=self.base_url, verify=context, timeout=10.0)
        self._clients.append(client)
        return client


async def _serve(
    sock: socket.socket, app: ASGIApp, oauth_app: FastAPI, oauth: OAuthServer, pki: Pki
) -> tuple[RunningAS, Callable[[], Awaitable[None]]]:
    """Serve `app` over TLS on `sock` until the returned `stop` is awaited."""
    uvicorn_server = build_server(app, pki.server)
    # In a context of its own, as a server process has: requests would otherwise inherit whatever the test's
    # context holds, a correlation id bound by an earlier step above all, and share it.
    task = asyncio.create_task(uvicorn_server.serve(sockets=[sock]), context=contextvars.Context())
    async with asyncio.timeout(10):
        while not uvicorn_server.started:
            await asyncio.sleep(0.01)
    running = RunningAS(oauth_app, oauth, sock.getsockname()[1], pki)

    async def stop() -> None:
        for client in running._clients:
            await client.aclose()
        uvicorn_server.should_exit = True
        await asyncio.wait_for(task, 10)
        await oauth.close()

    return running, stop


async def start_authorization_server(
    platform: Platform, pki: Pki, *, issuer: str | None = None, jwks_uri_refetch_s: float = 10.0
) -> tuple[RunningAS, Callable[[], Awaitable[None]]]:
    sock = bind_socket("127.0.0.1", 0)
    config = OAuthConfig(issuer=issuer or f"https://127.0.0.1:{sock.getsockname()[1]}")
    # Outbound fetches (client jwks_uri) trust the test CA, as production trusts the public ones.
    http = httpx.AsyncClient(verify=ssl.create_default_context(cafile=pki.ca_file))
    oauth = OAuthServer.build(platform, config=config, http=http, jwks_uri_refetch_s=jwks_uri_refetch_s)
    app = create_oauth_app(platform, oauth)
    return await _serve(sock, app, app, oauth, pki)


async def start_full_server(platform: Platform, pki: Pki) -> tuple[RunningAS, Callable[[], Awaitable[None]]]:
    """Sign-in pages and OAuth endpoints on one TLS origin, routed as the gateway routes them."""
    sock = bind_socket("127.0.0.1", 0)
    oauth = OAuthServer.build(platform, config=OAuthConfig(issuer=f"https://127.0.0.1:{sock.getsockname()[1]}"))
    oauth_app = create_oauth_app(platform, oauth)
    pages = create_pages_app(platform)
    routes = [Route(prefix, pages) for prefix in PAGE_PREFIXES] + [Route(p, oauth_app) for p in MOUNT_PREFIXES]
    return await _serve(sock, PrefixRouter(routes, fallback=FastAPI()), oauth_app, oauth, pki)


@pytest.fixture(scope="module")
def shared_database_url(postgres_admin_url: str, database_pool: DatabasePool) -> Iterator[str]:
    """One migrated database per test module: its tests register their own clients and never collide."""
    name = database_pool.take()
    yield postgres_admin_url.replace("/postgres?", f"/{name}?")
    database_pool.give_back(name)


@pytest.fixture(scope="module")
def shared_settings(tmp_path_factory: pytest.TempPathFactory, shared_database_url: str) -> Settings:
    directory = tmp_path_factory.mktemp("oauth-module")
    return Settings(
        env="test",
        data_dir=directory / "var",
        certs_dir=directory / "certs",
        database_url=shared_database_url,
        encryption_keys=json.dumps(TEST_KEYS),
        active_encryption_key_id="test-1",
    )


@pytest.fixture(scope="module")
async def shared_platform(shared_settings: Settings) -> AsyncIterator[Platform]:
    built = build_platform(shared_settings)
    yield built
    await built.close()


@pytest.fixture(scope="module")
async def auth_server(shared_platform: Platform, pki: Pki) -> AsyncIterator[RunningAS]:
    """One server per module over the module's database (its signing keys are created on first use)."""
    running, stop = await start_authorization_server(shared_platform, pki)
    yield running
    await stop()


@pytest.fixture(scope="module")
async def full_server(shared_platform: Platform, pki: Pki) -> AsyncIterator[RunningAS]:
    """One server with the sign-in pages per module, over the module's database."""
    running, stop = await start_full_server(shared_platform, pki)
    yield running
    await stop()


@dataclass(frozen=True)
class RegisteredClient:
    """A registered client and the private key it signs its assertions with."""

    client_id: str
    key: SigningKey | None
    alg: str


def generate_key(alg: str) -> SigningKey:
    if alg == "PS256":
        return RSAKey.generate_key(2048, private=True)
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519", private=True)
    return ECKey.generate_key("P-256", private=True)


def public_jwks(key: SigningKey, **extra: Any) -> dict[str, Any]:
    key.ensure_kid()
    return {"keys": [{**key.as_dict(private=False), "kid": key.kid, "use": "sig", **extra}]}


RegisterClient = Callable[..., Awaitable[RegisteredClient]]


def registrar(platform: Platform) -> RegisterClient:
    """Register clients into `platform`'s database through the service (as staff would)."""

    async def register(
        *,
        method: str = "private_key_jwt",
        alg: str = "ES256",
        grant_types: tuple[str, ...] = ("authorization_code", "client_credentials"),
        scope: str = "openid accounts payments",
        first_party: bool = False,
        **metadata: Any,
    ) -> RegisteredClient:
        key = generate_key(alg) if method == "private_key_jwt" else None
        values: dict[str, Any] = {
            "client_name": "Test TPP",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": list(grant_types),
            "scope": scope,
            "token_endpoint_auth_method": method,
            "authorization_details_types": ["account_information", "payment_initiation", "funds_confirmation"],
        }
        if key is not None:
            values["jwks"] = public_jwks(key)
        if method == "tls_client_auth":
            values["tls_client_auth_subject_dn"] = TPP_SUBJECT
        values.update(metadata)
        async with platform_units(platform).begin(Actor.system("test")) as uow:
            record = await clients_service.register_client(uow, ClientMetadata(**values), first_party=first_party)
        return RegisteredClient(record.client_id, key, alg)

    return register


@pytest.fixture
def register_client(shared_platform: Platform) -> RegisterClient:
    """A client with a fresh signing key of `alg`, in the module's database."""
    return registrar(shared_platform)


def client_assertion(
    client: RegisteredClient,
    audience: Any,
    *,
    alg: str | None = None,
    key: Any = None,
    omit: tuple[str, ...] = (),
    **claims: Any,
) -> str:
    """A private_key_jwt assertion (RFC 7523 s3) for `client`, with `claims` overriding the defaults."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    for name in omit:
        body.pop(name, None)
    signing_key = key or client.key
    assert signing_key is not None
    header: dict[str, Any] = {"alg": alg or client.alg, "typ": "JWT"}
    if getattr(signing_key, "kid", None):
        header["kid"] = signing_key.kid
    return jwt.encode(header, body, signing_key, algorithms=[header["alg"]])


def assertion_form(client: RegisteredClient, audience: Any, **claims: Any) -> dict[str, str]:
    return {
        "client_assertion_type": JWT_BEARER_ASSERTION,
        "client_assertion": client_assertion(client, audience, **claims),
    }


def _b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value).encode())


def unsigned_token(claims: dict[str, Any]) -> str:
    """A JWT with alg none (RFC 7519 s6): what the server must never accept."""
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims)}."


def hmac_token(claims: dict[str, Any], secret: bytes) -> str:
    """An HS256 JWT, built by hand (joserfc rightly refuses public keys as HMAC secrets)."""
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT'})}.{_segment(claims)}"
    return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def staff_headers(app: FastAPI, *roles: str, kind: PrincipalKind = "staff") -> dict[str, str]:
    principal = Principal(
        subject="staff-1", kind=kind, interaction_id="00000000-0000-4000-8000-000000000000", roles=frozenset(roles)
    )
    return {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "auth_server")}


def der_b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def name(subject: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])


def run_cli(app: typer.Typer, settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """A typer command in-process, configured through the environment as an operator would."""
    for variable, value in {
        "OBANK_ENV": "test",
        "OBANK_DATA_DIR": str(settings.data_dir),
        "OBANK_DATABASE_URL": settings.database_url or "",
        "OBANK_ENCRYPTION_KEYS": settings.encryption_keys or "",
        "OBANK_ACTIVE_ENCRYPTION_KEY_ID": settings.active_encryption_key_id or "",
    }.items():
        monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    finally:
        get_settings.cache_clear()
