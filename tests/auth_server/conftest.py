"""Fixtures for auth_server: the gateway (which mounts the sign-in pages) over HTTPS-addressed clients."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
import structlog
from starlette.types import ASGIApp

from bank.app import create_app
from obank.runtime import Platform

BASE_URL = "https://bank.test"

ClientFactory = Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def gateway(platform: Platform) -> ASGIApp:
    return create_app(platform)


@pytest.fixture
def browser_client(gateway: ASGIApp) -> ClientFactory:
    """A new browser (its own cookie jar) per call; HTTPS so `Secure` cookies are kept and sent."""

    def open_browser() -> AbstractAsyncContextManager[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=gateway, client=("203.0.113.7", 50000))
        return httpx.AsyncClient(transport=transport, base_url=BASE_URL)

    return open_browser


@pytest.fixture
async def client(browser_client: ClientFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with browser_client() as http:
        yield http


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put logging back as it was: a test that configures it binds it to a stream closed after the test."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    uvicorn_access = logging.getLogger("uvicorn.access").disabled
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = uvicorn_access
