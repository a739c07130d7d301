"""Fixtures for core_banking: the app over a fresh database, an HTTP client, staff assertions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from core_banking.app import create_app
from obank.principal import PRINCIPAL_HEADER, Principal, PrincipalKind
from obank.runtime import Platform

HeadersFor = Callable[..., dict[str, str]]


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return create_app(platform)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://core-banking") as http:
        yield http


@pytest.fixture
def headers_for(app: FastAPI) -> HeadersFor:
    """Headers carrying a gateway-signed assertion of a principal (staff by default) with `roles`."""

    def make(*roles: str, subject: str = "staff-1", kind: PrincipalKind = "staff", **extra: str) -> dict[str, str]:
        principal = Principal(
            subject=subject,
            kind=kind,
            interaction_id="00000000-0000-4000-8000-000000000000",
            roles=frozenset(roles),
        )
        return {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "core_banking"), **extra}

    return make
