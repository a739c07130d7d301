"""The routing table: path prefixes to the apps (in-process ASGI apps for now) that serve them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True, slots=True)
class Route:
    """Requests whose path is `prefix` or lies under it (or, when `exact`, only `prefix`) go to `upstream`."""

    prefix: str
    upstream: ASGIApp
    exact: bool = False

    def matches(self, path: str) -> bool:
        return path == self.prefix or (not self.exact and path.startswith(self.prefix.rstrip("/") + "/"))


class PrefixRouter:
    """Dispatch by the longest matching prefix; everything else goes to the gateway's own app."""

    def __init__(self, routes: Sequence[Route], fallback: ASGIApp) -> None:
        self.routes = sorted(routes, key=lambda route: len(route.prefix), reverse=True)
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                if route.matches(scope["path"]):
                    await route.upstream(scope, receive, send)
                    return
        await self.fallback(scope, receive, send)
