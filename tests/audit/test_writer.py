"""append_audit_record: gapless, unforked chains, written in the caller's transaction."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack
from datetime import UTC
from decimal import Decimal

import psycopg
import pytest

from audit import append_audit_record
from audit.errors import ChainHeadMissing, InvalidAuditEntry
from audit.models import CHAIN_COUNT
from audit.writer import IP_HASH_PURPOSE
from obank.correlation import bind_correlation_id
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.audit.conftest import append_committed, fetch, make_entry, tamper, verify


class CallerFailed(Exception):
    pass


async def test_fifty_concurrent_writers_leave_gapless_chains(platform: Platform) -> None:
    async def write(n: int) -> tuple[int, int]:
        async with unit_of_work(platform.sessions) as session:
            appended = await append_audit_record(session, platform.keyring, make_entry(n))
            await asyncio.sleep(0)  # let other writers find this head busy while this one holds it
            return appended.chain, appended.sequence

    appended = await asyncio.gather(*(write(n) for n in range(50)))

    by_chain: dict[int, list[int]] = {}
    for chain, sequence in appended:
        by_chain.setdefault(chain, []).append(sequence)
    assert len(by_chain) > 1, "concurrent writers should not all queue on one chain"
    assert all(sorted(sequences) == list(range(1, len(sequences) + 1)) for sequences in by_chain.values())
    report = await verify(platform)
    assert report.problem is None
    assert report.records_checked == 50
    assert {chain: report.head_sequences[chain] for chain in by_chain} == {c: len(s) for c, s in by_chain.items()}
    assert sum(report.head_sequences.values()) == 50
    stored = fetch(platform.database_url, "SELECT chain, sequence FROM audit.audit_records ORDER BY chain, sequence")
    assert stored == sorted(appended)


async def test_one_transaction_appends_to_one_chain(platform: Platform) -> None:
    async with unit_of_work(platform.sessions) as holder:
        held = await append_audit_record(holder, platform.keyring, make_entry(1))
        async with unit_of_work(platform.sessions) as session:
            first = await append_audit_record(session, platform.keyring, make_entry(2))
            second = await append_audit_record(session, platform.keyring, make_entry(3))

    assert held.chain == 0
    assert (first.chain, first.sequence) == (1, 1)
    assert (second.chain, second.sequence) == (1, 2)
    assert (await verify(platform)).intact


async def test_a_writer_finding_every_head_busy_waits_for_one(platform: Platform) -> None:
    async with AsyncExitStack() as holders:
        for n in range(CHAIN_COUNT):
            session = await holders.enter_async_context(unit_of_work(platform.sessions))
            await append_audit_record(session, platform.keyring, make_entry(n))
        waiting = asyncio.create_task(append_committed(platform, make_entry(99)))
        await asyncio.sleep(0.3)
        assert not waiting.done()
    appended = await waiting

    assert appended.sequence == 2
    report = await verify(platform)
    assert report.intact
    assert report.records_checked == CHAIN_COUNT + 1


async def test_rolled_back_caller_leaves_no_gap(platform: Platform) -> None:
    await append_committed(platform, make_entry(1))
    rolled_back: list[int] = []

    async def append_then_fail() -> None:
        async with unit_of_work(platform.sessions) as session:
            rolled_back.append((await append_audit_record(session, platform.keyring, make_entry(2))).sequence)
            raise CallerFailed

    with pytest.raises(CallerFailed):
        await append_then_fail()
    assert rolled_back == [2]
    third = await append_committed(platform, make_entry(3))

    assert (third.chain, third.sequence) == (0, 2)
    assert fetch(platform.database_url, "SELECT last_sequence FROM audit.chain_head WHERE id = 0") == [(2,)]
    report = await verify(platform)
    assert report.problem is None
    assert report.records_checked == 2


async def test_ip_address_is_stored_only_as_keyed_hash(platform: Platform) -> None:
    appended = await append_committed(platform, make_entry(1, ip_address="203.0.113.77"))

    rows = fetch(
        platform.database_url,
        "SELECT r::text, ip_hash, ip_hash_key_id FROM audit.audit_records r WHERE record_id = %s",
        appended.record_id,
    )
    row_text, ip_hash, key_id = rows[0]
    assert "203.0.113.77" not in row_text
    assert bytes(ip_hash) == platform.keyring.keyed_hash(IP_HASH_PURPOSE, b"203.0.113.77")
    assert key_id == "test-1"


async def test_equal_ipv6_spellings_hash_alike(platform: Platform) -> None:
    first = await append_committed(platform, make_entry(1, ip_address="2001:DB8:0::1"))
    second = await append_committed(platform, make_entry(2, ip_address="2001:db8::1"))

    hashes = fetch(
        platform.database_url,
        "SELECT ip_hash FROM audit.audit_records WHERE record_id IN (%s, %s)",
        first.record_id,
        second.record_id,
    )
    assert hashes[0][0] == hashes[1][0]


async def test_record_carries_correlation_id_actor_and_utc_time(platform: Platform) -> None:
    correlation_id = str(uuid.uuid4())
    bind_correlation_id(correlation_id)
    appended = await append_committed(platform, make_entry(1, client_id=None, ip_address=None))

    assert appended.correlation_id == correlation_id
    assert appended.occurred_at.utcoffset() is not None
    assert appended.occurred_at.tzinfo == UTC
    rows = fetch(
        platform.database_url,
        "SELECT correlation_id, actor_kind, actor_id, client_id, ip_hash, occurred_at "
        "FROM audit.audit_records WHERE record_id = %s",
        appended.record_id,
    )
    assert rows[0][:5] == (correlation_id, "customer", "customer-1", None, None)
    assert rows[0][5] == appended.occurred_at


async def test_explicit_correlation_id_wins(platform: Platform) -> None:
    appended = await append_committed(platform, make_entry(1, correlation_id="complaint-4711"))

    assert appended.correlation_id == "complaint-4711"


@pytest.mark.parametrize(
    "overrides",
    [
        {"actor_kind": "robot"},
        {"before": {"amount": Decimal("1.5")}},
        {"after": {"ratio": float("nan")}},
        {"ip_address": "not-an-ip"},
        {"entity_id": ""},
        {"action": "x" * 121},
    ],
    ids=["actor-kind", "non-json", "nan", "ip", "empty-entity", "long-action"],
)
async def test_invalid_entry_is_refused_before_chaining(platform: Platform, overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidAuditEntry):
        await append_committed(platform, make_entry(1, **overrides))

    assert fetch(platform.database_url, "SELECT sum(last_sequence) FROM audit.chain_head") == [(0,)]


async def test_database_refuses_updates_and_deletes(platform: Platform) -> None:
    await append_committed(platform, make_entry(1))

    for statement in (
        "UPDATE audit.audit_records SET action = 'x'",
        "DELETE FROM audit.audit_records",
        "TRUNCATE audit.audit_records",
    ):
        with psycopg.connect(platform.database_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
    assert fetch(platform.database_url, "SELECT count(*) FROM audit.audit_records") == [(1,)]


async def test_append_without_head_row_is_refused(platform: Platform) -> None:
    tamper(platform.database_url, "DELETE FROM audit.chain_head")

    with pytest.raises(ChainHeadMissing):
        await append_committed(platform, make_entry(1))
