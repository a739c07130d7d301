"""Fixtures for core_banking: the app over a fresh database, an HTTP client, staff assertions."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterable

import httpx
import pytest
from fastapi import FastAPI

from core_banking.app import create_app
from obank.principal import PRINCIPAL_HEADER, Principal, PrincipalKind
from obank.runtime import Platform

HeadersFor = Callable[..., dict[str, str]]
CustomerHeadersFor = Callable[..., dict[str, str]]
CUSTOMER_SCOPES = ("accounts", "payments")


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


@pytest.fixture
def customer_headers(app: FastAPI) -> CustomerHeadersFor:
    """Headers carrying a gateway-signed assertion of customer `customer_id` with `scopes`."""

    def make(customer_id: uuid.UUID | str, *, scopes: Iterable[str] = CUSTOMER_SCOPES, **extra: str) -> dict[str, str]:
        principal = Principal(
            subject=str(customer_id),
            kind="customer",
            interaction_id="00000000-0000-4000-8000-000000000001",
            client_id="obank-web",
            scopes=frozenset(scopes),
        )
        return {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "core_banking"), **extra}

    return make
