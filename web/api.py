"""The public API as the web app calls it: through the gateway, with the signed-in person's token.

In the gateway's process the calls go to the gateway's ASGI app (no socket), carrying what the gateway would
see of the browser's own request: its connection's TLS facts (the staff device certificate that tokens are bound
to), its address (rate limits) and its correlation id (one investigation timeline from page to ledger).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from obank.correlation import HEADER as CORRELATION_HEADER
from obank.correlation import current_correlation_id

# The browser request on whose behalf the current call is made (its ASGI scope).
_browser: ContextVar[Scope | None] = ContextVar("web_browser_scope", default=None)


class GatewayNotBound(RuntimeError):
    """The web app was built without the gateway it calls (`GatewayApi.bind`)."""


class GatewayApi:
    """An HTTP client of the gateway in this process; `bind` hands it the gateway once that is built."""

    def __init__(self, base_url: str) -> None:
        self._gateway: ASGIApp | None = None
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self._forward), base_url=base_url, timeout=30.0
        )

    def bind(self, gateway: ASGIApp) -> None:
        self._gateway = gateway

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._gateway is None:
            raise GatewayNotBound("GatewayApi.bind(gateway) was not called")
        browser = _browser.get()
        if browser is not None:
            scope["client"] = browser.get("client")
            tls = (browser.get("extensions") or {}).get("tls")
            if tls is not None:
                scope["extensions"] = {**(scope.get("extensions") or {}), "tls": tls}
        await self._gateway(scope, receive, send)

    async def request(
        self,
        browser: Scope,
        method: str,
        path: str,
        *,
        token: str | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        files: Sequence[tuple[str, tuple[str, bytes, str]]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One call on behalf of the browser request `browser` (its ASGI scope); `files` (with `data`) sends
        multipart/form-data."""
        sent = {CORRELATION_HEADER: current_correlation_id(), **(headers or {})}
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        marker = _browser.set(browser)
        try:
            return await self._client.request(
                method, path, params=params, json=json, data=data, files=files, headers=sent
            )
        finally:
            _browser.reset(marker)

    async def close(self) -> None:
        await self._client.aclose()
