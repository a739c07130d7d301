"""A request holding one of the main pool's connections never waits on that pool again.

The authorization server's pages keep their request's unit of work (and its connection) while they ask core
banking, in this process, for the customer's accounts or to authorise a consent. Were those calls served from
the same pool, enough concurrent consent pages would each hold one connection and wait for a second until the
pool timed out (seen under `python -m bench.tokens`' authorization flows). They are served from the side pool.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from obank.database import async_url, create_sessionmaker
from obank.runtime import Platform, build_platform
from obank.settings import Settings
from tests.auth_server.oauth.conftest import Pki, RegisterClient, start_full_server
from tests.auth_server.oauth.flow import approve, new_enrolled_customer, payment_consent, push


@pytest.fixture
async def one_connection_platform(shared_settings: Settings) -> AsyncIterator[Platform]:
    """The module's database behind a main pool of one connection, which a request waits for at most 5 s."""
    built = build_platform(shared_settings)
    single = create_async_engine(async_url(built.database_url), pool_size=1, max_overflow=0, pool_timeout=5)
    platform = dataclasses.replace(built, engine=single, sessions=create_sessionmaker(single))
    yield platform
    await platform.close()
    await built.engine.dispose()


async def test_a_consent_is_shown_and_approved_with_one_main_connection(
    one_connection_platform: Platform, register_client: RegisterClient, pki: Pki
) -> None:
    running, stop = await start_full_server(one_connection_platform, pki)
    try:
        client = await register_client(grant_types=("authorization_code", "refresh_token"))
        customer = await new_enrolled_customer(one_connection_platform)
        consent = await payment_consent(one_connection_platform, client.client_id)
        pushed = await push(running, client, consent=consent)

        _, page, params = await approve(running, client, pushed, customer)

        assert "125.50 GBP" in page.text
        assert params["code"]
    finally:
        await stop()
