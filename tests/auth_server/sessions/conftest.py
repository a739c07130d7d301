"""The authorization server's OAuth app in-process over a fresh database, as the gateway reaches it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from auth_server.oauth.app import create_oauth_app
from obank.runtime import Platform


@pytest.fixture
async def oauth_app(platform: Platform) -> AsyncIterator[FastAPI]:
    app = create_oauth_app(platform)
    yield app
    await app.state.oauth.close()


@pytest.fixture
async def api(oauth_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=oauth_app), base_url="https://bank.test") as http:
        yield http
