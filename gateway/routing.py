"""The routing table: path prefixes to the apps (in-process ASGI apps for now) that serve them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.policy import METHOD_NOT_ALLOWED, allowed_methods, family_of, policy_for
from gateway.refusals import error_document
from obank.correlation import current_correlation_id


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
            if policy_for(scope["method"], scope["path"]) is METHOD_NOT_ALLOWED:
                await method_not_allowed(scope, send)
                return
            for route in self.routes:
                if route.matches(scope["path"]):
                    await route.upstream(scope, receive, send)
                    return
        await self.fallback(scope, receive, send)


async def method_not_allowed(scope: Scope, send: Send) -> None:
    """405 for a protected path asked with a method no policy row admits, with `Allow`, in its family's format."""
    method, path = scope["method"], scope["path"]
    body, media_type = error_document(
        family_of(path),
        405,
        "method_not_allowed",
        "Method Not Allowed",
        f"{method} is not allowed here",
        current_correlation_id(),
    )
    headers = [
        (b"content-type", media_type),
        (b"content-length", str(len(body)).encode()),
        (b"allow", ", ".join(sorted(allowed_methods(path))).encode()),
    ]
    await send({"type": "http.response.start", "status": 405, "headers": headers})
    await send({"type": "http.response.body", "body": body})
