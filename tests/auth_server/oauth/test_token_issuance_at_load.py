"""What makes client_credentials fast keeps it correct: group commit, the client cache, the jti claim."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from audit.trail import platform_units
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.clients.models import ClientStatus
from auth_server.oauth.config import TOKEN_PATH, OAuthConfig
from auth_server.oauth.server import OAuthServer
from auth_server.oauth.tokens.models import SubjectKind
from auth_server.oauth.tokens.service import PendingAccessToken, record_access_tokens
from obank.actor import Actor
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.auth_server.oauth.conftest import RegisterClient, RegisteredClient, RunningAS, assertion_form

CONCURRENT = 24


async def _token(running: RunningAS, client: RegisteredClient, **form: str) -> Any:
    body = {"grant_type": "client_credentials", **form, **assertion_form(client, running.issuer)}
    return await running.http().post(TOKEN_PATH, data=body)


@pytest.fixture
def client_reads(shared_platform: Platform) -> Iterator[list[str]]:
    """Every statement that reads the clients table, as it is sent to PostgreSQL."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM auth_server.oauth_clients" in statement:
            seen.append(statement)

    event.listen(shared_platform.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(shared_platform.engine.sync_engine, "before_cursor_execute", record)


async def test_concurrent_issuances_share_commits_and_each_keeps_its_own_audit_record_and_event(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()

    responses = await asyncio.gather(*(_token(auth_server, client) for _ in range(CONCURRENT)))

    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    async with unit_of_work(shared_platform.sessions) as session:
        rows = (
            await session.execute(
                text(
                    "SELECT t.id::text AS jti, t.xmin::text AS token_tx, e.xmin::text AS event_tx,"
                    " a.xmin::text AS audit_tx, e.correlation_id AS event_cid, a.correlation_id AS audit_cid"
                    " FROM auth_server.issued_tokens t"
                    " JOIN platform.outbox_events e ON e.event_type = 'token.issued' AND e.key = t.id::text"
                    " JOIN audit.audit_records a ON a.action = 'token.issued' AND a.entity_id = t.id::text"
                    " WHERE t.client_id = :client_id"
                ),
                {"client_id": client.client_id},
            )
        ).all()
    assert len(rows) == CONCURRENT
    # Each token's row, event and audit record were committed by one and the same transaction...
    assert all(row.token_tx == row.event_tx == row.audit_tx for row in rows)
    # ...which, under concurrent load, also carried other requests' tokens (a group commit)...
    assert len({row.token_tx for row in rows}) < CONCURRENT
    # ...while each event and audit record keeps the correlation id of the request that asked for it.
    assert all(row.event_cid == row.audit_cid for row in rows)
    assert len({row.event_cid for row in rows}) == CONCURRENT


async def test_a_write_failing_inside_a_group_fails_only_its_own_caller(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    registered = await register_client()
    async with unit_of_work(shared_platform.sessions) as session:
        client = await clients_service.get_client(session, registered.client_id)
    tokens = auth_server.server.tokens

    async def signed() -> PendingAccessToken:
        return await tokens.sign_access_token(
            client=client,
            grant_type="client_credentials",
            subject=client.client_id,
            subject_kind=SubjectKind.CLIENT,
            scopes=["accounts"],
            certificate_thumbprint="q" * 43,
        )

    good = [await signed() for _ in range(6)]
    # The same jti twice: its second write breaks the primary key, in whatever group it lands.
    async with platform_units(shared_platform).begin(Actor.system("test")) as uow:
        await record_access_tokens(uow, [good[0]])
    duplicate = replace(await signed(), row={**good[0].row, "id": good[0].issued.jti})

    results = await asyncio.gather(
        *(tokens.group_commit.submit(pending) for pending in [*good[1:3], duplicate, *good[3:]]),
        return_exceptions=True,
    )

    assert isinstance(results[2], IntegrityError)
    assert [r for i, r in enumerate(results) if i != 2] == [None] * 5
    async with unit_of_work(shared_platform.sessions) as session:
        stored = await session.scalar(
            text("SELECT count(*) FROM auth_server.issued_tokens WHERE id = ANY(:ids)"),
            {"ids": [p.issued.jti for p in good]},
        )
    assert stored == 6


async def test_a_cached_client_is_not_read_again_yet_a_change_elsewhere_reaches_it_at_once(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform, client_reads: list[str]
) -> None:
    await auth_server.server.clients.wait_listening()
    client = await register_client()

    first = await _token(auth_server, client)
    reads_after_first = len(client_reads)
    second = await _token(auth_server, client)
    reads_after_second = len(client_reads)
    # Disabled by another process (here: the service, as `obank clients disable` runs it), not this server.
    async with platform_units(shared_platform).begin(Actor.system("test")) as uow:
        await clients_service.set_client_status(uow, client.client_id, ClientStatus.DISABLED)
    refused = await _eventually_refused(auth_server, client)

    assert first.status_code == 200 and second.status_code == 200, (first.text, second.text)
    assert reads_after_first >= 1
    assert reads_after_second == reads_after_first  # the second request used the cached client
    assert refused.json()["error"] == "invalid_client"


async def _eventually_refused(running: RunningAS, client: RegisteredClient, within_s: float = 2.0) -> Any:
    """The notification arrives just after the commit: allow it a moment, never more than `within_s`."""
    deadline = time.monotonic() + within_s
    while True:
        response = await _token(running, client)
        if response.status_code == 401 or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.02)


@pytest.fixture
async def private_server(shared_platform: Platform) -> AsyncIterator[OAuthServer]:
    server = OAuthServer.build(shared_platform, config=OAuthConfig(issuer="https://as.test"))
    yield server
    await server.close()


async def test_while_the_listener_is_down_clients_are_read_fresh_every_time(
    private_server: OAuthServer, register_client: RegisterClient, shared_platform: Platform
) -> None:
    cache = private_server.clients
    await cache.wait_listening()
    client = await register_client()
    async with unit_of_work(shared_platform.sessions) as session:
        assert (await cache.client(session, client.client_id)) is not None
        await session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN%obank_oauth_clients%'"
            )
        )

    # A change that sends no notification (a writer outside the service) while no one listens.
    async with unit_of_work(shared_platform.sessions) as session:
        await session.execute(
            text("UPDATE auth_server.oauth_clients SET client_name = 'Renamed' WHERE client_id = :client_id"),
            {"client_id": client.client_id},
        )
        await asyncio.sleep(0.2)  # the listener notices its connection is gone
        seen = await cache.client(session, client.client_id)
    await cache.wait_listening()  # and comes back

    assert seen is not None and seen.client_name == "Renamed"


async def test_a_jti_stays_spent_when_the_request_carrying_it_fails(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    client = await register_client(scope="accounts")
    form = {"grant_type": "client_credentials", **assertion_form(client, auth_server.issuer)}

    failed = await auth_server.http().post(TOKEN_PATH, data={**form, "scope": "payments"})
    replayed = await auth_server.http().post(TOKEN_PATH, data=form)

    assert failed.json()["error"] == "invalid_scope"
    assert replayed.status_code == 401 and "already used" in replayed.json()["error_description"]
