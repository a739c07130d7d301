"""An upstream reached over HTTP: the gateway's reverse proxy to a service running in another process.

aiohttp, not httpx: on this machine an httpx 0.28 `AsyncClient` proxy held about 230 requests/s where
aiohttp held about 2,400 (encode/httpx#3215).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from starlette.types import Message, Receive, Scope, Send
from yarl import URL

from gateway.policy import Family, family_of
from gateway.refusals import error_document
from obank.correlation import HEADER as INTERACTION_ID_HEADER
from obank.correlation import current_correlation_id
from obank.log import get_logger
from obank.principal import HANDED_PRINCIPAL, PRINCIPAL_HEADER, HandedPrincipal

# RFC 9110 s7.6.1: fields meant for one connection only, never forwarded; `host` is the upstream's own.
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding", b"upgrade"}
)
_NOT_FORWARDED = HOP_BY_HOP | {b"host"}
# Set by the gateway itself after the caller's own copies were dropped: a caller's `Connection` cannot strip them.
_GATEWAY_SET = frozenset({PRINCIPAL_HEADER.encode(), INTERACTION_ID_HEADER.encode()})
# uvicorn always writes its own `date`; the upstream's would make a second one (RFC 9110 s6.6.1: one value).
_RESPONSE_NOT_FORWARDED = HOP_BY_HOP | {b"date"}
# aiohttp would otherwise invent these; only what the caller sent goes upstream.
_NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
# Bodies declared this small are read before forwarding: one write upstream, and a replayable body.
_BUFFERED_BODY_BYTES = 65_536
# Below uvicorn's 5 s keep-alive: the pool drops an idle connection before the upstream may close it under a POST.
POOL_KEEPALIVE_S = 4.0
POOL_CONNECTIONS = 256
VIA = b"obank-gateway"

_log = get_logger("gateway.proxy")


class _BodyTooLarge(Exception):
    """The request body grew past the limit while streaming."""


class _CallerGone(Exception):
    """The caller disconnected before its request body was complete."""


@dataclass(frozen=True, slots=True)
class _Problem:
    status: int
    code: str
    title: str
    detail: str


UPSTREAM_UNAVAILABLE = _Problem(502, "upstream_unavailable", "Bad Gateway", "The service is unavailable; try again.")
UPSTREAM_TIMEOUT = _Problem(504, "upstream_timeout", "Gateway Timeout", "The service did not answer in time.")
INVALID_LENGTH = _Problem(400, "invalid_content_length", "Bad Request", "The Content-Length header is invalid.")


def _too_large(limit: int) -> _Problem:
    return _Problem(413, "request_too_large", "Content Too Large", f"The request body exceeds {limit} bytes.")


def _connection_tokens(headers: list[tuple[bytes, bytes]]) -> set[bytes]:
    """The field names a `Connection` header nominates as hop-by-hop (RFC 9110 s7.6.1)."""
    return {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.split(b",")
        if token.strip()
    }


def _interaction_id(headers: list[tuple[bytes, bytes]]) -> str:
    wanted = INTERACTION_ID_HEADER.encode()
    return next((value.decode("latin-1") for name, value in headers if name == wanted), None) or (
        current_correlation_id()
    )


async def _send_problem(send: Send, problem: _Problem, interaction_id: str, family: Family) -> None:
    """The whole response, in the path's error format (RFC 9457, or OBErrorResponse1); no internal detail."""
    body, content_type = error_document(
        family, problem.status, problem.code, problem.title, problem.detail, interaction_id
    )
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (INTERACTION_ID_HEADER.encode(), interaction_id.encode()),
    ]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _RequestBody:
    """The caller's body as ASGI delivers it, counted against the limit as it streams."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self.receive = receive
        self.limit = limit
        self.received = 0
        self.too_large = False
        self.caller_gone = False

    async def _next(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.disconnect":
            self.caller_gone = True
            raise _CallerGone
        self.received += len(message.get("body", b""))
        if self.received > self.limit:
            self.too_large = True
            raise _BodyTooLarge
        return message

    async def read(self) -> bytes:
        chunks = []
        while True:
            message = await self._next()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def stream(self) -> AsyncIterator[bytes]:
        while True:
            message = await self._next()
            if chunk := message.get("body", b""):
                yield chunk
            if not message.get("more_body", False):
                return


class HttpUpstream:
    """An ASGI app forwarding each request to `base_url` over a pooled keep-alive connection.

    Method, path, query string, end-to-end headers and body go upstream as they came; the response comes
    back streamed. Idempotent requests on a reused connection that closed under them are resent once by
    aiohttp (RFC 9112 s9.3.1); POST and PATCH never are.
    """

    def __init__(self, base_url: str, *, timeout_s: float, max_body_bytes: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use: a session belongs to the event loop it was made in, the server's.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=POOL_CONNECTIONS, keepalive_timeout=POOL_KEEPALIVE_S),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.timeout_s, sock_read=self.timeout_s),
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),  # one pool serves every caller: never keep their cookies
                skip_auto_headers=_NO_AUTO_HEADERS,
            )
        return self._session

    async def close(self) -> None:
        """Close the pooled connections; the next request would open a new pool."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _upstream_url(self, scope: Scope) -> URL:
        path = scope.get("raw_path") or scope["path"].encode()
        target = self.base_url + path.decode("latin-1")
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        return URL(target, encoded=True)

    def _request_headers(self, scope: Scope) -> list[tuple[str, str]]:
        received: list[tuple[bytes, bytes]] = scope["headers"]
        dropped = _NOT_FORWARDED | (_connection_tokens(received) - _GATEWAY_SET)
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in received if name not in dropped]
        # RFC 9110 s7.6.3: a gateway adds itself to `Via` on the requests it forwards.
        received_by = f"{scope.get('http_version', '1.1')} {VIA.decode()}"
        via = [value.decode("latin-1") for name, value in received if name == b"via"]
        headers = [(name, value) for name, value in headers if name != "via"]
        headers.append(("via", ", ".join([*via, received_by])))
        handed = scope.get(HANDED_PRINCIPAL)
        if type(handed) is HandedPrincipal:
            # The guard's principal crosses HTTP only as a signed internal assertion, made here, per request.
            headers = [(name, value) for name, value in headers if name != PRINCIPAL_HEADER]
            headers.append((PRINCIPAL_HEADER, handed.assertion()))
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError(f"an HTTP upstream cannot serve {scope['type']!r} connections")
        interaction_id = _interaction_id(scope["headers"])
        family = family_of(scope["path"])
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        try:
            length = int(declared) if declared is not None else None
        except ValueError:
            length = -1
        if length is not None and length < 0:
            await _send_problem(send, INVALID_LENGTH, interaction_id, family)
            return
        if length is not None and length > self.max_body_bytes:
            await _send_problem(send, _too_large(self.max_body_bytes), interaction_id, family)
            return
        body = _RequestBody(receive, self.max_body_bytes)
        has_body = length is not None or any(name == b"transfer-encoding" for name, _ in scope["headers"])
        data: bytes | AsyncIterator[bytes] | None = None
        try:
            if has_body and length is not None and length <= _BUFFERED_BODY_BYTES:
                data = await body.read()
            elif has_body:
                data = body.stream()
            response = await self._client().request(
                scope["method"],
                self._upstream_url(scope),
                headers=self._request_headers(scope),
                data=data,
                allow_redirects=False,  # a redirect is the caller's to follow, not ours
            )
        except (_BodyTooLarge, _CallerGone, TimeoutError, aiohttp.ClientError) as exc:
            await self._refuse(exc, body, send, interaction_id, family)
            return
        try:
            await self._relay_response(response, send)
        finally:
            response.release()

    async def _refuse(
        self, exc: Exception, body: _RequestBody, send: Send, interaction_id: str, family: Family
    ) -> None:
        # aiohttp wraps an error raised while writing the body: the body's own state says what happened.
        if body.caller_gone:
            return
        if body.too_large:
            await _send_problem(send, _too_large(self.max_body_bytes), interaction_id, family)
            return
        timed_out = isinstance(exc, TimeoutError)
        _log.warning(
            "upstream_timeout" if timed_out else "upstream_unavailable",
            upstream=self.base_url,
            exception=type(exc).__name__,
        )
        await _send_problem(send, UPSTREAM_TIMEOUT if timed_out else UPSTREAM_UNAVAILABLE, interaction_id, family)

    async def _relay_response(self, response: aiohttp.ClientResponse, send: Send) -> None:
        received = list(response.raw_headers)
        dropped = _RESPONSE_NOT_FORWARDED | _connection_tokens(received)
        headers = [(name.lower(), value) for name, value in received if name.lower() not in dropped]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        content = response.content
        try:
            async for chunk in content.iter_any():
                # Each chunk goes out as it arrives; the last one (often the only one) closes the body.
                last = content.at_eof()
                await send({"type": "http.response.body", "body": chunk, "more_body": not last})
                if last:
                    return
        except (TimeoutError, aiohttp.ClientError) as exc:
            # Headers are sent: the caller learns of the failure from a connection closed before the body ends.
            _log.warning("upstream_response_aborted", upstream=self.base_url, exception=type(exc).__name__)
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})
