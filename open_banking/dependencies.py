"""What Open Banking routes are handed: core banking's facade and the absolute address of what they serve."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from core_banking.facade import CoreBanking


async def _core_banking(request: Request) -> CoreBanking:
    core_banking: CoreBanking = request.app.state.core_banking
    return core_banking


def public_url(request: Request, path: str) -> str:
    """`path` as TPPs reach it: behind the bank's public address (R/W API Profile, "Links": absolute URIs)."""
    base: str = request.app.state.public_base_url
    return base + quote(path, safe="/:@!$&'()*+,;=-._~{}")


async def _self_url(request: Request) -> str:
    url = public_url(request, request.url.path)
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{url}?{query}" if query else url


CoreBankingDep = Annotated[CoreBanking, Depends(_core_banking)]
# `Links.Self` of the response: the request's own URL at the public address.
SelfUrlDep = Annotated[str, Depends(_self_url)]
