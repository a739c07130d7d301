"""The authorization server's OAuth app in-process over a fresh database, as the gateway reaches it, and staff
principals of each role."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from auth_server.identities.schemas import IdentityKind, IdentityRecord
from auth_server.oauth.app import create_oauth_app
from obank.principal import PrincipalKind
from obank.roles import StaffRole
from obank.runtime import Platform
from tests.auth_server.helpers import new_login
from tests.auth_server.staff_admin.helpers import principal_headers

HeadersFor = Callable[..., dict[str, str]]


@pytest.fixture
async def oauth_app(platform: Platform) -> AsyncIterator[FastAPI]:
    app = create_oauth_app(platform)
    yield app
    await app.state.oauth.close()


@pytest.fixture
async def api(oauth_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=oauth_app), base_url="https://bank.test") as http:
        yield http


@pytest.fixture
def headers_for(oauth_app: FastAPI) -> HeadersFor:
    """A staff member's assertion with `roles` (subject `staff-1` unless named), or another kind's."""

    def make(*roles: str, kind: PrincipalKind = "staff", subject: str = "staff-1") -> dict[str, str]:
        return principal_headers(oauth_app, subject, kind=kind, roles=roles, scopes=("openid",))

    return make


@pytest.fixture
def support(headers_for: HeadersFor) -> dict[str, str]:
    return headers_for(StaffRole.SUPPORT.value)


@pytest.fixture
async def customer_login(platform: Platform) -> IdentityRecord:
    return await new_login(platform, f"cust-{uuid.uuid4().hex[:8]}@example.com")


@pytest.fixture
async def staff_login(platform: Platform) -> IdentityRecord:
    return await new_login(
        platform, f"staff-{uuid.uuid4().hex[:8]}", kind=IdentityKind.STAFF, roles=frozenset({StaffRole.ADMIN})
    )
