"""A real TLS server (obank.server on uvicorn): optional client certificates reach the app, verified."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509

from obank.certs import (
    certificate_pem,
    certificate_thumbprint_s256,
    create_certificate_authority,
    init_development_certificates,
    issue_client_certificate,
    load_certificate,
    private_key_pem,
)
from obank.server import TLSFiles, bind_socket, build_server, client_certificate, run_server


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    init_development_certificates(directory)
    return directory


@dataclass
class RunningServer:
    port: int
    scopes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/"


async def _echo_app(server: RunningServer, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with what the app learnt about the client certificate of this request's connection."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    server.scopes.append(scope)
    cert = client_certificate(scope)
    tls = scope["extensions"]["tls"]
    body = json.dumps(
        {
            "thumbprint": certificate_thumbprint_s256(cert) if cert else None,
            "subject": tls["client_cert_name"],
            "tls_version": tls["tls_version"],
            "cipher_suite": tls["cipher_suite"],
            "server_cert": tls["server_cert"],
            "scheme": scope["scheme"],
        }
    ).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(params=["httptools", "h11"])
async def tls_server(request: pytest.FixtureRequest, pki: Path) -> AsyncIterator[RunningServer]:
    sock = bind_socket("127.0.0.1", 0)
    running = RunningServer(port=sock.getsockname()[1])

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await _echo_app(running, scope, receive, send)

    files = TLSFiles(pki / "server.pem", pki / "server.key", pki / "ca.pem")
    server = build_server(app, files, http=request.param)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(10):
        while not server.started:
            await asyncio.sleep(0.01)
    yield running
    server.should_exit = True
    await asyncio.wait_for(task, 10)


def _client_context(pki: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=pki / "ca.pem")
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


def _write_foreign_client(tmp_path: Path) -> tuple[Path, Path]:
    """A client certificate with the demo TPP's subject, issued by a CA the server does not trust."""
    foreign_ca, foreign_key = create_certificate_authority("obank Development CA")
    cert, key = issue_client_certificate(foreign_ca, foreign_key, "CN=Demo TPP,O=Demo TPP Ltd,C=GB")
    (tmp_path / "foreign.pem").write_bytes(certificate_pem(cert))
    (tmp_path / "foreign.key").write_bytes(private_key_pem(key))
    return tmp_path / "foreign.pem", tmp_path / "foreign.key"


async def _get(url: str, context: ssl.SSLContext) -> dict[str, Any]:
    async with httpx.AsyncClient(verify=context) as client:
        response = await client.get(url)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


async def test_app_sees_the_ca_issued_client_certificate(tls_server: RunningServer, pki: Path) -> None:
    context = _client_context(pki, pki / "tpp-demo.pem", pki / "tpp-demo.key")

    seen = await _get(tls_server.url, context)

    assert seen["thumbprint"] == certificate_thumbprint_s256(load_certificate(pki / "tpp-demo.pem"))
    assert seen["subject"] == "CN=Demo TPP,O=Demo TPP Ltd,C=GB"
    assert seen["scheme"] == "https"
    assert seen["tls_version"] == 0x0304
    assert seen["cipher_suite"] in {0x1301, 0x1302, 0x1303}  # the TLS 1.3 suites (RFC 8446 B.4)
    assert x509.load_pem_x509_certificate(seen["server_cert"].encode()) == load_certificate(pki / "server.pem")


async def test_tls12_client_gets_a_forward_secret_aead_suite_and_its_certificate_seen(
    tls_server: RunningServer, pki: Path
) -> None:
    context = _client_context(pki, pki / "tpp-demo.pem", pki / "tpp-demo.key")
    context.maximum_version = ssl.TLSVersion.TLSv1_2

    seen = await _get(tls_server.url, context)

    assert seen["tls_version"] == 0x0303
    # TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 / _256_GCM_SHA384 (RFC 9325 s4.2 with our P-256 server key)
    assert seen["cipher_suite"] in {0xC02B, 0xC02C}
    assert seen["thumbprint"] == certificate_thumbprint_s256(load_certificate(pki / "tpp-demo.pem"))


async def test_without_a_client_certificate_the_handshake_succeeds_and_the_app_sees_none(
    tls_server: RunningServer, pki: Path
) -> None:
    seen = await _get(tls_server.url, _client_context(pki))

    assert seen["thumbprint"] is None
    assert seen["subject"] is None
    assert tls_server.scopes[-1]["extensions"]["tls"]["client_cert_chain"] == []


async def test_every_request_on_a_connection_sees_that_connections_certificate(
    tls_server: RunningServer, pki: Path
) -> None:
    demo = _client_context(pki, pki / "tpp-demo.pem", pki / "tpp-demo.key")
    other = _client_context(pki, pki / "tpp-other.pem", pki / "tpp-other.key")
    async with httpx.AsyncClient(verify=demo) as demo_client, httpx.AsyncClient(verify=other) as other_client:
        responses = await asyncio.gather(
            *(client.get(tls_server.url) for client in (demo_client, other_client, demo_client, other_client))
        )
        # Keep-alive: a second round over the same connections.
        responses += await asyncio.gather(demo_client.get(tls_server.url), other_client.get(tls_server.url))

    demo_thumbprint = certificate_thumbprint_s256(load_certificate(pki / "tpp-demo.pem"))
    other_thumbprint = certificate_thumbprint_s256(load_certificate(pki / "tpp-other.pem"))
    seen = [r.json()["thumbprint"] for r in responses]
    assert seen == [demo_thumbprint, other_thumbprint] * 3


def _exchange_blocking(port: int, context: ssl.SSLContext) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
                return tls.recv(65536)
        except (ssl.SSLError, ConnectionResetError):
            return b""


async def _exchange(port: int, context: ssl.SSLContext) -> bytes:
    """Send one request on a fresh connection; what came back before the server closed (b"" if refused)."""
    # A refused certificate aborts the connection without an alert (asyncio's TLS transport closes before
    # flushing it), so the client sees an EOF: in the handshake with TLS 1.2, on its first read with TLS 1.3.
    return await asyncio.to_thread(_exchange_blocking, port, context)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
async def test_a_certificate_from_another_ca_is_refused_at_the_handshake(
    tls_server: RunningServer, pki: Path, tmp_path: Path, version: ssl.TLSVersion
) -> None:
    foreign = _client_context(pki, *_write_foreign_client(tmp_path))
    trusted = _client_context(pki, pki / "tpp-demo.pem", pki / "tpp-demo.key")
    for context in (foreign, trusted):
        context.minimum_version = context.maximum_version = version

    assert await _exchange(tls_server.port, foreign) == b""
    assert tls_server.scopes == []
    assert (await _exchange(tls_server.port, trusted)).startswith(b"HTTP/1.1 200")
    assert len(tls_server.scopes) == 1


async def test_a_server_certificate_presented_as_client_certificate_is_refused(
    tls_server: RunningServer, pki: Path
) -> None:
    # The CA issued it, but for serverAuth only: it may not authenticate a client (RFC 5280 s4.2.1.12).
    context = _client_context(pki, pki / "server.pem", pki / "server.key")

    assert await _exchange(tls_server.port, context) == b""
    assert tls_server.scopes == []


def test_run_server_on_its_own_event_loop_passes_the_certificate(pki: Path) -> None:
    """`obank serve`'s path: `run_server` on uvicorn's loop (uvloop when installed), stopped by `should_exit`."""
    sock = bind_socket("127.0.0.1", 0)
    running = RunningServer(port=sock.getsockname()[1])

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await _echo_app(running, scope, receive, send)

    server = build_server(app, TLSFiles(pki / "server.pem", pki / "server.key", pki / "ca.pem"))
    before: list[str] = []

    async def before_serving() -> None:
        before.append(type(asyncio.get_running_loop()).__module__)

    thread = threading.Thread(target=run_server, args=(server, sock, before_serving))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        context = _client_context(pki, pki / "tpp-other.pem", pki / "tpp-other.key")
        response = httpx.get(running.url, verify=context)
    finally:
        server.should_exit = True
        thread.join(10)

    assert not thread.is_alive()
    assert before == ["uvloop"]
    assert response.json()["thumbprint"] == certificate_thumbprint_s256(load_certificate(pki / "tpp-other.pem"))


def test_client_certificate_is_none_without_the_tls_extension() -> None:
    assert client_certificate({"type": "http", "extensions": {}}) is None
    assert client_certificate({"type": "http"}) is None
