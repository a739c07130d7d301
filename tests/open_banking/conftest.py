"""Fixtures for open_banking: its app over a fresh database and core banking in-process, as TPPs reach it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel, ConfigDict, Field

from core_banking.facade import InProcessCoreBanking, Permission
from obank.correlation import CorrelationMiddleware
from obank.principal import PRINCIPAL_HEADER, Principal, PrincipalKind
from obank.runtime import Platform
from open_banking.app import SERVICE_NAME, create_app
from open_banking.families import AISP
from open_banking.fapi import FapiHeadersDep, fapi_headers
from open_banking.negotiation import OBRoute
from tests.open_banking.contract import Contract

TppHeaders = Callable[..., dict[str, str]]
BASE_URL = "https://obank.test"


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract()


@pytest.fixture
def core_banking(platform: Platform) -> InProcessCoreBanking:
    return InProcessCoreBanking(platform.sessions, platform.keyring)


@pytest.fixture
def app(platform: Platform, core_banking: InProcessCoreBanking) -> FastAPI:
    return create_app(platform, core_banking)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app as the gateway hands it requests: behind the correlation middleware that settles interaction ids."""
    transport = httpx.ASGITransport(app=CorrelationMiddleware(app))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


@pytest.fixture
def tpp_headers(app: FastAPI) -> TppHeaders:
    """A TPP's request headers past the gateway: its Authorization as sent, and the principal it proved."""

    def make(
        client_id: str = "tpp-1",
        *,
        scopes: Iterable[str] = ("accounts",),
        kind: PrincipalKind = "client",
        subject: str | None = None,
        **extra: str,
    ) -> dict[str, str]:
        principal = Principal(
            subject=subject or client_id,
            kind=kind,
            interaction_id=str(uuid.uuid4()),
            client_id=client_id,
            scopes=frozenset(scopes),
        )
        assertion = app.state.internal_assertions.sign(principal, SERVICE_NAME)
        # The app never reads Authorization (the gateway drops it); it is here because the spec requires it.
        return {"authorization": "Bearer opaque-to-this-app", PRINCIPAL_HEADER: assertion, **extra}

    return make


class StandInConsentData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Permissions: list[Permission] = Field(min_length=1)
    ExpirationDateTime: datetime | None = None


class StandInConsentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Data: StandInConsentData
    Risk: dict[str, Any]


def _stand_in_routes() -> APIRouter:
    """Routes at paths the spec defines, standing in for resources to come, to exercise the OB dialect.

    A JSON body, a failing backend: what the dialect must answer for whatever resource is added next.
    """
    router = APIRouter(route_class=OBRoute, dependencies=[Depends(fapi_headers)])

    @router.post("/account-access-consents", status_code=201)
    async def create(body: StandInConsentRequest, fapi: FapiHeadersDep) -> dict[str, Any]:
        return {"permissions": len(body.Data.Permissions), "fapi": asdict(fapi)}

    @router.get("/accounts")
    async def failing() -> None:
        raise RuntimeError("the secret detail 4242 of a failure")

    return router


@pytest.fixture
async def stand_in_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with stand-in routes; failures come back as responses, as a server would send them."""
    app.include_router(_stand_in_routes(), prefix=AISP.prefix)
    # Ahead of the resources served at the same paths: the stand-ins answer whatever the family serves.
    app.router.routes.insert(0, app.router.routes.pop())
    transport = httpx.ASGITransport(app=CorrelationMiddleware(app), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http
