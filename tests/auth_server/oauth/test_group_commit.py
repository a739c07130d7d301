"""A group of issued tokens costs as many statements as one token, and keeps each token's event and audit record."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text

from audit import verify_chain
from audit.trail import platform_units
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.tokens.models import SubjectKind
from auth_server.oauth.tokens.service import PendingAccessToken, TokenService, record_access_tokens
from obank.actor import Actor
from obank.correlation import bind_correlation_id
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.auth_server.oauth.conftest import RegisterClient, RunningAS

GROUP = 24


@pytest.fixture
def statements(shared_platform: Platform) -> Iterator[list[str]]:
    """Every statement sent to PostgreSQL through the module platform's engine."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(shared_platform.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(shared_platform.engine.sync_engine, "before_cursor_execute", record)


async def sign(
    tokens: TokenService, shared_platform: Platform, client_id: str, count: int, prefix: str
) -> list[PendingAccessToken]:
    """`count` signed tokens, each asked for by a request of its own (correlation id `prefix-n`)."""
    async with unit_of_work(shared_platform.sessions) as session:
        client = await clients_service.get_client(session, client_id)
    pending = []
    for n in range(count):
        bind_correlation_id(f"{prefix}-{n}")
        pending.append(
            await tokens.sign_access_token(
                client=client,
                grant_type="client_credentials",
                subject=client.client_id,
                subject_kind=SubjectKind.CLIENT,
                scopes=["accounts"],
                certificate_thumbprint="q" * 43,
            )
        )
    return pending


async def written(shared_platform: Platform, pending: list[PendingAccessToken]) -> list[Any]:
    """Per token: the transactions of its row, event and audit record, their correlation ids, its audit place."""
    async with unit_of_work(shared_platform.sessions) as session:
        rows = await session.execute(
            text(
                "SELECT t.id, t.xmin::text AS token_tx, e.xmin::text AS event_tx, a.xmin::text AS audit_tx,"
                " e.correlation_id AS event_cid, a.correlation_id AS audit_cid, a.chain, a.sequence"
                " FROM auth_server.issued_tokens t"
                " JOIN platform.outbox_events e ON e.event_type = 'token.issued' AND e.key = t.id::text"
                " JOIN audit.audit_records a ON a.action = 'token.issued' AND a.entity_id = t.id::text"
                " WHERE t.id = ANY(:ids)"
            ),
            {"ids": [p.issued.jti for p in pending]},
        )
        by_id = {row.id: row for row in rows}
    return [by_id[p.issued.jti] for p in pending]


async def test_a_group_costs_the_statements_of_one_token_and_writes_every_event_and_audit_record(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform, statements: list[str]
) -> None:
    client = await register_client()
    tokens = auth_server.server.tokens
    one = await sign(tokens, shared_platform, client.client_id, 1, "one")
    many = await sign(tokens, shared_platform, client.client_id, GROUP, "many")

    statements.clear()
    async with platform_units(shared_platform).begin(Actor.system("test")) as uow:
        await record_access_tokens(uow, one)
    for_one = list(statements)
    statements.clear()
    async with platform_units(shared_platform).begin(Actor.system("test")) as uow:
        await record_access_tokens(uow, many)
    for_many = list(statements)

    # tokens, the chain head's lock, the audit insert with the events
    assert len(for_many) == len(for_one) == 3, for_many
    rows = await written(shared_platform, many)
    assert len(rows) == GROUP
    assert len({(row.token_tx, row.event_tx, row.audit_tx) for row in rows}) == 1  # one transaction wrote it all
    assert [row.event_cid for row in rows] == [f"many-{n}" for n in range(GROUP)]
    assert [row.audit_cid for row in rows] == [f"many-{n}" for n in range(GROUP)]
    assert len({row.chain for row in rows}) == 1
    first = rows[0].sequence
    assert [row.sequence for row in rows] == list(range(first, first + GROUP))
    async with unit_of_work(shared_platform.sessions) as session:
        report = await verify_chain(session, shared_platform.keyring)
    assert report.intact, report.problem


async def test_concurrent_submissions_share_transactions_each_with_its_tokens_events_and_audit_records(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    tokens = auth_server.server.tokens
    pending = await sign(tokens, shared_platform, client.client_id, GROUP, "submitted")

    await asyncio.gather(*(tokens.group_commit.submit(p) for p in pending))

    rows = await written(shared_platform, pending)
    assert all(row.token_tx == row.event_tx == row.audit_tx for row in rows)
    assert len({row.token_tx for row in rows}) < GROUP  # groups formed
    assert (
        [row.event_cid for row in rows] == [row.audit_cid for row in rows] == [f"submitted-{n}" for n in range(GROUP)]
    )
    by_transaction: dict[str, list[tuple[int, int]]] = {}
    for row in rows:
        by_transaction.setdefault(row.token_tx, []).append((row.chain, row.sequence))
    for places in by_transaction.values():
        # A group's audit records sit together on one chain, in the order of its tokens.
        chain, first = places[0]
        assert places == [(chain, first + n) for n in range(len(places))]
    async with unit_of_work(shared_platform.sessions) as session:
        report = await verify_chain(session, shared_platform.keyring)
    assert report.intact, report.problem
