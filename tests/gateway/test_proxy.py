"""HttpUpstream over real sockets: uvicorn in front of the proxy, a real upstream server behind it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import uvicorn
from joserfc.jwk import ECKey
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.proxy import HttpUpstream
from obank.principal import HANDED_PRINCIPAL, HandedPrincipal, InternalAssertions, Principal
from obank.server import bind_socket
from tests.services import free_port

LIMIT = 64 * 1024
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """`app` on a real 127.0.0.1 socket, served by uvicorn in this event loop."""
    sock = bind_socket("127.0.0.1", 0)
    config = uvicorn.Config(
        app, lifespan="off", log_config=None, access_log=False, http="httptools", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Seen:
    method: str
    raw_path: bytes
    query_string: bytes
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


@dataclass
class Upstream:
    """An upstream service that records what reached it and answers by path."""

    seen: list[Seen] = field(default_factory=list)
    first_chunk_received: asyncio.Event = field(default_factory=asyncio.Event)
    release_second_chunk: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            if message.get("body"):
                chunks.append(message["body"])
                self.first_chunk_received.set()
            if not message.get("more_body"):
                break
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        self.seen.append(Seen(scope["method"], scope["raw_path"], scope["query_string"], headers, b"".join(chunks)))
        if path.startswith("/stream"):
            await self._stream(send)
        elif path.startswith("/slow"):
            await asyncio.sleep(1)
            await _respond(send, 200, b"late")
        elif path.startswith("/redirect"):
            await _respond(send, 302, b"", [(b"location", b"https://elsewhere.example/")])
        elif path.startswith("/cookie"):
            await _respond(send, 200, b"{}", [(b"set-cookie", b"sid=one; Path=/"), (b"set-cookie", b"t=two; Path=/")])
        else:
            await self._echo(send, scope)

    async def _echo(self, send: Send, scope: Scope) -> None:
        seen = self.seen[-1]
        document = {"sha256": hashlib.sha256(seen.body).hexdigest(), "length": len(seen.body)}
        interaction = [v for k, v in scope["headers"] if k == b"x-fapi-interaction-id"]
        # No content-length: uvicorn frames the response with `Transfer-Encoding: chunked`, which must not leak.
        headers = [
            (b"content-type", b"application/json"),
            (b"connection", b"x-upstream-hop"),
            (b"x-upstream-hop", b"internal"),
            (b"keep-alive", b"timeout=5"),
            (b"proxy-connection", b"keep-alive"),
            (b"trailer", b"x-checksum"),
            (b"upgrade", b"h2c"),
            (b"x-upstream-end-to-end", b"kept"),
            *[(b"x-fapi-interaction-id", v) for v in interaction],
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(document).encode()})

    async def _stream(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"first,", "more_body": True})
        await self.release_second_chunk.wait()
        await send({"type": "http.response.body", "body": b"second"})


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Proxied:
    upstream: Upstream
    upstream_url: str
    proxy: HttpUpstream
    client: httpx.AsyncClient


@asynccontextmanager
async def proxied(upstream_url: str | None = None, *, timeout_s: float = 5.0) -> AsyncIterator[Proxied]:
    upstream = Upstream()
    async with serving(upstream) as url:
        proxy = HttpUpstream(upstream_url or url, timeout_s=timeout_s, max_body_bytes=LIMIT)
        try:
            async with serving(proxy) as proxy_url, httpx.AsyncClient(base_url=proxy_url, timeout=10) as client:
                yield Proxied(upstream, upstream_url or url, proxy, client)
        finally:
            await proxy.close()


@pytest.fixture
async def setup() -> AsyncIterator[Proxied]:
    async with proxied() as running:
        yield running


async def test_the_request_goes_upstream_as_sent_less_its_hop_by_hop_headers(setup: Proxied) -> None:
    interaction_id = str(uuid.uuid4())
    body = b'{"amount": 100}'

    response = await setup.client.post(
        "/echo/a%2Fb/caf%C3%A9",
        params={"x": "1", "y": " z&"},
        content=body,
        headers={
            "content-type": "application/json",
            "x-fapi-interaction-id": interaction_id,
            "x-obank-principal": "assertion",
            "authorization": "Bearer abc",
            "connection": "keep-alive, x-caller-hop, x-fapi-interaction-id",
            "x-caller-hop": "for the proxy only",
            "keep-alive": "timeout=30",
            "proxy-connection": "keep-alive",
            "te": "trailers",
            "upgrade": "h2c",
            "x-end-to-end": "kept",
            "via": "1.1 edge",
            "user-agent": "test-agent",
            "accept-encoding": "identity",
        },
    )

    assert response.status_code == 200, response.text
    seen = setup.upstream.seen[-1]
    assert seen.method == "POST"
    assert seen.raw_path == b"/echo/a%2Fb/caf%C3%A9"
    assert seen.query_string == b"x=1&y=+z%26"
    assert seen.body == body
    names = {name for name, _ in seen.headers}
    assert not names & (HOP_BY_HOP | {"x-caller-hop"})
    assert seen.header("host") == [setup.upstream_url.removeprefix("http://")]
    assert seen.header("content-type") == ["application/json"]
    assert seen.header("content-length") == [str(len(body))]
    assert seen.header("authorization") == ["Bearer abc"]
    assert seen.header("x-end-to-end") == ["kept"]
    # Set by the gateway, not the caller's to strip by naming them in `Connection`.
    assert seen.header("x-fapi-interaction-id") == [interaction_id]
    assert seen.header("x-obank-principal") == ["assertion"]
    assert seen.header("via") == ["1.1 edge, 1.1 obank-gateway"]
    # The caller's own values, none added or replaced by the proxy's HTTP client.
    assert seen.header("user-agent") == ["test-agent"]
    assert seen.header("accept-encoding") == ["identity"]


async def test_the_response_comes_back_less_its_hop_by_hop_headers_with_the_interaction_id(setup: Proxied) -> None:
    interaction_id = str(uuid.uuid4())

    response = await setup.client.get("/echo", headers={"x-fapi-interaction-id": interaction_id})

    assert response.status_code == 200
    assert response.json()["length"] == 0
    assert response.headers["x-fapi-interaction-id"] == interaction_id
    assert response.headers["x-upstream-end-to-end"] == "kept"
    assert not set(response.headers) & {"x-upstream-hop", "keep-alive", "proxy-connection", "trailer", "upgrade"}
    assert "connection" not in response.headers or response.headers["connection"] == "keep-alive"
    # The proxy's own server frames the body; exactly one framing header and one Date reach the caller.
    assert response.headers.get_list("transfer-encoding") == ["chunked"]
    assert len(response.headers.get_list("date")) == 1


async def test_a_redirect_is_passed_back_not_followed(setup: Proxied) -> None:
    response = await setup.client.get("/redirect")

    assert response.status_code == 302
    assert response.headers["location"] == "https://elsewhere.example/"
    assert len(setup.upstream.seen) == 1


async def test_cookies_set_for_one_caller_are_never_sent_for_another(setup: Proxied) -> None:
    first = await setup.client.get("/cookie")
    setup.client.cookies.clear()
    await setup.client.get("/echo")

    assert first.headers.get_list("set-cookie") == ["sid=one; Path=/", "t=two; Path=/"]
    assert setup.upstream.seen[-1].header("cookie") == []


async def test_the_response_body_is_streamed(setup: Proxied) -> None:
    async with asyncio.timeout(5), setup.client.stream("GET", "/stream") as response:
        chunks = response.aiter_raw()
        # Only the first chunk exists until the client has read it: a buffering proxy would wait forever here.
        assert await anext(chunks) == b"first,"
        setup.upstream.release_second_chunk.set()
        assert b"".join([chunk async for chunk in chunks]) == b"second"


async def test_the_request_body_is_streamed(setup: Proxied) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"a" * 1000
        # The rest is sent only once the upstream holds the first part: a buffering proxy would wait forever.
        await setup.upstream.first_chunk_received.wait()
        yield b"b" * 1000

    async with asyncio.timeout(5):
        response = await setup.client.put("/upload", content=body())

    assert response.status_code == 200
    assert response.json() == {"sha256": hashlib.sha256(b"a" * 1000 + b"b" * 1000).hexdigest(), "length": 2000}
    assert setup.upstream.seen[-1].header("transfer-encoding") == ["chunked"]


async def test_a_body_at_the_limit_passes(setup: Proxied) -> None:
    response = await setup.client.post("/upload", content=b"x" * LIMIT)

    assert response.status_code == 200
    assert response.json()["length"] == LIMIT


async def test_a_declared_oversize_body_is_refused_before_the_upstream_is_contacted(setup: Proxied) -> None:
    response = await setup.client.post("/upload", content=b"x" * (LIMIT + 1))

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "request_too_large"
    assert setup.upstream.seen == []


async def test_a_streamed_body_is_refused_once_it_passes_the_limit(setup: Proxied) -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(LIMIT // 1024 + 1):
            yield b"y" * 1024

    response = await setup.client.post("/upload", content=body())

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert setup.upstream.seen == []  # the upstream never saw a complete request


async def test_an_unreachable_upstream_is_502_without_internal_detail() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    interaction_id = str(uuid.uuid4())
    async with proxied(dead) as running:
        response = await running.client.post(
            "/api/v1/transfers", json={}, headers={"x-fapi-interaction-id": interaction_id}
        )

    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-fapi-interaction-id"] == interaction_id
    problem = response.json()
    assert problem == {
        "type": "urn:obank:problem:upstream_unavailable",
        "title": "Bad Gateway",
        "status": 502,
        "detail": "The service is unavailable; try again.",
        "code": "upstream_unavailable",
        "correlation_id": interaction_id,
    }
    assert dead.rsplit(":", 1)[1] not in response.text


async def test_a_slow_upstream_is_504() -> None:
    async with proxied(timeout_s=0.3) as running:
        started = asyncio.get_running_loop().time()
        response = await running.client.get("/slow")
        took = asyncio.get_running_loop().time() - started

    assert response.status_code == 504
    assert response.json()["code"] == "upstream_timeout"
    assert took < 1.5


@dataclass
class DroppingUpstream:
    """A raw HTTP/1.1 server that closes the first connection of each method unanswered, then answers."""

    attempts: dict[str, int] = field(default_factory=dict)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        method = head.split(b" ", 1)[0].decode()
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                await reader.readexactly(int(line.split(b":", 1)[1]))
        self.attempts[method] = self.attempts.get(method, 0) + 1
        if self.attempts[method] > 1:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()
        writer.close()


async def test_a_dropped_get_is_resent_once_but_a_dropped_post_never() -> None:
    dropping = DroppingUpstream()
    server = await asyncio.start_server(dropping.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with proxied(f"http://127.0.0.1:{port}") as running:
            got = await running.client.get("/api/v1/accounts")
            posted = await running.client.post("/api/v1/transfers", json={"amount": 1})
    finally:
        server.close()
        await server.wait_closed()

    assert got.status_code == 200
    assert got.text == "ok"
    assert dropping.attempts["GET"] == 2
    assert posted.status_code == 502
    assert dropping.attempts["POST"] == 1


async def test_the_pool_is_created_on_first_use_and_released_by_close() -> None:
    upstream = Upstream()
    async with serving(upstream) as url:
        proxy = HttpUpstream(url, timeout_s=5, max_body_bytes=LIMIT)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=proxy), base_url="http://gateway") as client:
            assert proxy._session is None
            assert (await client.get("/echo")).status_code == 200
            session = proxy._session
            assert session is not None
            await proxy.close()
            assert session.closed
            assert (await client.get("/echo")).status_code == 200  # a new pool after close
            await proxy.close()


async def test_a_principal_handed_by_the_guard_goes_upstream_signed_in_place_of_any_callers_assertion() -> None:
    signer = InternalAssertions(ECKey.generate_key("P-256", private=True))
    principal = Principal(subject="cust-1", kind="customer", interaction_id=str(uuid.uuid4()))
    upstream = Upstream()
    async with serving(upstream) as url:
        proxy = HttpUpstream(url, timeout_s=5.0, max_body_bytes=LIMIT)

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            handed = HandedPrincipal(principal, "core_banking", signer)
            await proxy({**scope, HANDED_PRINCIPAL: handed}, receive, send)

        try:
            async with serving(guarded) as proxy_url, httpx.AsyncClient(base_url=proxy_url) as client:
                response = await client.get("/echo", headers={"x-obank-principal": "forged"})
        finally:
            await proxy.close()

    assert response.status_code == 200
    [assertion] = upstream.seen[-1].header("x-obank-principal")
    assert signer.verify(assertion, "core_banking") == principal
