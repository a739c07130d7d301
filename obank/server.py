"""HTTPS with optional client certificates (mTLS, RFC 8705) on uvicorn, the peer certificate in the ASGI scope."""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from types import FrameType
from typing import Any, Literal

import uvicorn
from cryptography import x509
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from obank.settings import Settings

HttpImplementation = Literal["httptools", "h11"]
_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
# FAPI 2.0 Security Profile s5.2.1: TLS 1.2 or later, and with TLS 1.2 only the cipher suites RFC 9325
# s4.2 recommends (forward-secret AEAD); TLS 1.3 suites are all acceptable and unaffected by this list.
_TLS12_CIPHERS = "ECDHE+AESGCM:DHE+AESGCM"


@dataclass(frozen=True, slots=True)
class TLSFiles:
    """The server's certificate chain and key, and the CA bundle that client certificates must chain to."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None  # None: no client certificate is requested (e.g. behind a TLS proxy)

    @classmethod
    def from_settings(cls, settings: Settings) -> TLSFiles:
        """Configured files, else the development certificates (`obank certs init`); never those in production."""
        certs = settings.certs_dir
        client_ca = settings.tls_client_ca_file
        if client_ca is None and not settings.is_production:
            client_ca = certs / "ca.pem"
        return cls(
            cert_file=settings.tls_cert_file or certs / "server.pem",
            key_file=settings.tls_key_file or certs / "server.key",
            client_ca_file=client_ca,
        )


def server_ssl_context(files: TLSFiles) -> ssl.SSLContext:
    """TLS >= 1.2; client certificates requested but optional, and verified against the CA bundle when sent."""
    # Optional at the handshake so browsers and first-party apps connect without one; what needs a
    # certificate-bound token (RFC 8705 s3) is refused later, at the gateway, when none was presented.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(_TLS12_CIPHERS)
    context.options |= ssl.OP_NO_RENEGOTIATION
    context.load_cert_chain(files.cert_file, files.key_file)
    if files.client_ca_file is not None:
        context.load_verify_locations(cafile=files.client_ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
    context.set_alpn_protocols(["http/1.1"])
    return context


@cache
def _cipher_suite_ids(context: ssl.SSLContext) -> dict[str, int]:
    # OpenSSL prefixes each suite id with 0x0300; the ASGI TLS extension wants the IANA 16-bit code point.
    return {c["name"]: c["id"] & 0xFFFF for c in context.get_ciphers()}


def tls_extension(ssl_object: ssl.SSLObject, server_cert_pem: str | None) -> dict[str, Any]:
    """The ASGI TLS extension (asgiref `tls` extension spec) for one connection; the chain is verified."""
    client_chain: list[str] = []
    client_name: str | None = None
    der = ssl_object.getpeercert(binary_form=True)
    if der:
        client = x509.load_der_x509_certificate(der)
        client_chain.append(ssl.DER_cert_to_PEM_cert(der))
        client_name = client.subject.rfc4514_string()
    cipher = ssl_object.cipher()
    version = ssl_object.version()
    return {
        "server_cert": server_cert_pem,
        "client_cert_chain": client_chain,
        "client_cert_name": client_name,
        # With CERT_OPTIONAL a certificate that fails verification aborts the handshake, so none reaches here.
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(version) if version else None,
        "cipher_suite": _cipher_suite_ids(ssl_object.context).get(cipher[0]) if cipher else None,
    }


class _WithTLSExtension:
    """Adds one connection's TLS extension to the scope of every request on that connection."""

    def __init__(self, app: ASGIApp, tls: dict[str, Any]) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extensions = scope.get("extensions") or {}
        scope["extensions"] = {**extensions, "tls": dict(self.tls)}
        await self.app(scope, receive, send)


class TLSConfig(uvicorn.Config):
    """uvicorn's configuration plus the server certificate the TLS extension reports."""

    server_cert_pem: str | None = None


def _wrap_connection_app(protocol: H11Protocol | HttpToolsProtocol, transport: asyncio.Transport) -> None:
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is not None:
        server_cert_pem = getattr(protocol.config, "server_cert_pem", None)
        protocol.app = _WithTLSExtension(protocol.app, tls_extension(ssl_object, server_cert_pem))


# uvicorn builds one protocol per connection and calls `self.app` per request; the handshake (and so the
# peer certificate) is complete when `connection_made` runs.
class TLSHttpToolsProtocol(HttpToolsProtocol):
    """httptools HTTP/1.1 with the ASGI TLS extension."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _wrap_connection_app(self, transport)


class TLSH11Protocol(H11Protocol):
    """h11 HTTP/1.1 (pure Python) with the ASGI TLS extension."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _wrap_connection_app(self, transport)


_PROTOCOLS: dict[HttpImplementation, type[asyncio.Protocol]] = {
    "httptools": TLSHttpToolsProtocol,
    "h11": TLSH11Protocol,
}


def client_certificate(scope: Scope) -> x509.Certificate | None:
    """The verified client certificate of the connection carrying this request, if the client sent one."""
    tls = (scope.get("extensions") or {}).get("tls")
    if not tls or not tls.get("client_cert_chain"):
        return None
    return _certificate_from_pem(tls["client_cert_chain"][0])


@lru_cache(maxsize=1024)
def _certificate_from_pem(pem: str) -> x509.Certificate:
    # Parsed once per certificate, not per request: a TPP's keep-alive connections present the same one
    # (certificate objects are immutable).
    return x509.load_pem_x509_certificate(pem.encode("ascii"))


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket up front: a port in use fails fast, and port 0 reveals the port chosen."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it
    # Nagle's algorithm holds a response's second write until the client's delayed ACK (about 40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # connections queue from now on, while the database starts
    except OSError:
        sock.close()
        raise
    return sock


def build_server(
    app: ASGIApp,
    files: TLSFiles,
    *,
    http: HttpImplementation = "httptools",
    graceful_shutdown_s: int = 5,
) -> uvicorn.Server:
    """A uvicorn server for `app` over TLS; run it with `server.serve(sockets=[bind_socket(...)])`."""
    context = server_ssl_context(files)
    config = TLSConfig(
        app,
        http=_PROTOCOLS[http],
        ssl_context_factory=lambda _config, _default: context,
        lifespan="on",
        log_config=None,  # keep our JSON logging (obank.log.configure_logging)
        access_log=False,  # CorrelationMiddleware logs each request without its query string
        proxy_headers=False,  # we terminate TLS ourselves: no proxy may rewrite the client address
        server_header=False,
        timeout_graceful_shutdown=graceful_shutdown_s,
    )
    config.server_cert_pem = files.cert_file.read_text()
    return uvicorn.Server(config)


class StopRequested(Exception):
    """SIGINT or SIGTERM arrived: unwind and clean up."""


class StopSignals:
    """Defer SIGINT/SIGTERM to the next `check()` so no start-up step (initdb, a migration) is torn mid-way."""

    # A second signal stops at once. While serving, uvicorn handles both signals and, once shut down,
    # re-raises the one it caught: it is recorded here. Either way `finally` blocks run (SIG_DFL skips them).

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.received is not None:
            raise StopRequested(name)
        self.received = name

    def check(self) -> None:
        """Raise `StopRequested` if a signal arrived since start-up began."""
        if self.received is not None:
            raise StopRequested(self.received)

    def __enter__(self) -> StopSignals:
        self._previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


@contextmanager
def signals_ignored() -> Iterator[None]:
    """Let cleanup (stopping the embedded database) finish even if the user presses Ctrl-C again."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# Collections of the youngest generation: every this many allocations of tracked objects rather than 700. A
# request allocates a few thousand, so at the default the collector ran several times per request and moved
# the objects of the requests in flight to older generations, whose collections then scanned them again.
GC_YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    """Move what start-up built (apps, routes, models, metadata: ~300,000 objects) out of the cyclic garbage
    collector's sight, and collect the youngest generation less often.

    Those objects live as long as the process, yet every full collection walked them all (~0.5 s each under
    load, stalling every request in flight). Frozen objects are still freed by reference counting, and
    a forked worker keeps sharing their pages (gc.freeze's documented purpose).
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def run_server(
    server: uvicorn.Server,
    sock: socket.socket,
    before_serving: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run `before_serving` then the server on one event loop (uvloop when installed) until it stops."""

    async def main() -> None:
        if before_serving is not None:
            await before_serving()
        settle_heap()
        await server.serve(sockets=[sock])

    with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
        runner.run(main())


def run_workers(count: int, serve: Callable[[int], None], *, stop_timeout_s: float = 30.0) -> str | None:
    """Fork `count` processes, each running `serve(index)` on the listening socket they inherit, until they end.

    Each worker builds its own platform (engines, caches, event loop) after the fork; what must be shared
    across them (the deny-list, the jti replay cache, rate limits, jobs run once) lives in PostgreSQL or
    Redis. SIGINT or SIGTERM here stops every worker (SIGTERM, so each drains its requests); when one worker
    ends for any reason the others are stopped too. Returns the name of the signal that stopped them, if one did.
    """
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_worker_main, args=(serve, index), name=f"obank-worker-{index}")
        for index in range(count)
    ]
    received: list[str] = []  # the signal that stopped them, if one did

    def terminate_all() -> None:
        for worker in workers:
            if worker.pid is not None and worker.is_alive():
                os.kill(worker.pid, signal.SIGTERM)

    def stop(signum: int, _frame: FrameType | None) -> None:
        if not received:
            received.append(signal.Signals(signum).name)
            terminate_all()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for worker in workers:
            worker.start()
        multiprocessing.connection.wait([worker.sentinel for worker in workers])
        terminate_all()  # one ended: the others follow
        for worker in workers:
            worker.join(stop_timeout_s)
            if worker.is_alive():
                worker.kill()
                worker.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return received[0] if received else None


def _worker_main(serve: Callable[[int], None], index: int) -> None:
    # A process group of its own: a Ctrl-C at the terminal reaches the parent alone, which stops each worker
    # once (a second SIGINT would make uvicorn skip its graceful shutdown). Default signal handling until
    # uvicorn installs its own, so a stop during start-up is not lost.
    os.setpgid(0, 0)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    serve(index)
