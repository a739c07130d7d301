"""A lean in-process HTTP client for an ASGI app: the request as uvicorn would hand it over, no sockets.

The in-process benches compare a route with plain SQL run in the same process, so whatever the client spends
is charged to the route. httpx's ASGI transport spends about 110 us of CPU per request here (URL parsing,
header models, cookies, a stream per body), about as much as a whole plain SQL read. This client builds the
scope, hands over the body, and collects the status and body: a few microseconds (`client_cost` measures it
against httpx's transport in the same run, so a bench can print what its client costs).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode

import httpx
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True, slots=True)
class AsgiResponse:
    status_code: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        return orjson.loads(self.body)


class AsgiClient:
    """Requests to `app` over the ASGI interface; the app's exceptions propagate, as with httpx's transport."""

    def __init__(self, app: ASGIApp, host: str = "testserver") -> None:
        self._app = app
        self._host = host.encode()
        self._server = (host, 80)

    async def get(self, path: str, *, headers: Mapping[str, str] | None = None) -> AsgiResponse:
        return await self.request("GET", path, headers=headers)

    async def post(
        self,
        path: str,
        *,
        json: object = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsgiResponse:
        return await self.request("POST", path, headers=headers, json=json, form=form)

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: object = None,
        form: Mapping[str, str] | None = None,
    ) -> AsgiResponse:
        """`json` is sent as application/json, `form` as application/x-www-form-urlencoded."""
        raw_path, _, query = path.partition("?")
        header_list = [(b"host", self._host)]
        body = b""
        if json is not None or form is not None:
            body, content_type = (
                (orjson.dumps(json), b"application/json")
                if form is None
                else (urlencode(form).encode(), b"application/x-www-form-urlencoded")
            )
            header_list += [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        for name, value in (headers or {}).items():
            header_list.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": unquote(raw_path),
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": header_list,
            "client": ("127.0.0.1", 50000),
            "server": self._server,
        }
        done = asyncio.Event()
        sent_body = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()  # nothing more to read: the client is gone once the response is complete
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        await self._app(scope, receive, send)
        done.set()
        return AsgiResponse(status, b"".join(chunks))


async def _empty_app(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})


async def client_cost(requests: int = 3000) -> tuple[float, float]:
    """CPU seconds per request of this client and of httpx's ASGI transport, against an app that does nothing."""
    headers = {"x-bench": "1", "idempotency-key": "k"}
    lean = AsgiClient(_empty_app)
    started = time.process_time()
    for _ in range(requests):
        await lean.post("/nothing", json={"a": 1}, headers=headers)
    lean_cost = (time.process_time() - started) / requests
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_empty_app), base_url="http://testserver") as client:
        started = time.process_time()
        for _ in range(requests):
            await client.post("/nothing", json={"a": 1}, headers=headers)
        httpx_cost = (time.process_time() - started) / requests
    return lean_cost, httpx_cost
