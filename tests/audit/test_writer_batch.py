"""append_audit_records: many records on one chain with one lock and one INSERT, each verifiable alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from audit import AppendedRecord, append_audit_record, append_audit_records, decrypt_record
from audit.errors import InvalidAuditEntry
from audit.schemas import AuditEntry, ChainProblemKind
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.audit.conftest import fetch, make_entry, tamper, verify

RECORDS = "audit.audit_records"


async def append_batch(platform: Platform, entries: list[AuditEntry]) -> list[AppendedRecord]:
    async with unit_of_work(platform.sessions) as session:
        return await append_audit_records(session, platform.keyring, entries)


@pytest.fixture
def statements(platform: Platform) -> Iterator[list[str]]:
    """Every statement sent to PostgreSQL through the platform's engine."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(platform.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(platform.engine.sync_engine, "before_cursor_execute", record)


async def test_a_batch_takes_consecutive_places_on_one_chain_with_one_lock_and_one_insert(
    platform: Platform, statements: list[str]
) -> None:
    appended = await append_batch(platform, [make_entry(n) for n in range(1, 11)])

    assert [(record.chain, record.sequence) for record in appended] == [(0, n) for n in range(1, 11)]
    assert len({record.record_id for record in appended}) == 10
    writes = [s for s in statements if "audit." in s]
    assert len(writes) == 2, writes  # the head's lock; the insert moving the head
    assert "FOR UPDATE" in writes[0]
    assert writes[1].count("INSERT INTO audit.audit_records") == 1
    assert fetch(platform.database_url, "SELECT last_sequence FROM audit.chain_head WHERE id = 0") == [(10,)]
    report = await verify(platform)
    assert report.intact, report.problem
    assert report.records_checked == 10


async def test_each_record_of_a_batch_opens_alone_with_its_own_data_key(platform: Platform) -> None:
    appended = await append_batch(platform, [make_entry(n) for n in range(1, 4)])

    async with unit_of_work(platform.sessions) as session:
        opened = [await decrypt_record(session, platform.keyring, record.record_id) for record in appended]
    assert [changes.after for changes in opened] == [{"status": "frozen", "n": n} for n in range(1, 4)]
    keys = fetch(platform.database_url, f"SELECT changes_wrapped_key, changes_nonce FROM {RECORDS}")
    assert len({bytes(key) for key, _ in keys}) == 3
    assert len({bytes(nonce) for _, nonce in keys}) == 3


async def test_batches_interleave_with_single_appends(platform: Platform) -> None:
    first = await append_batch(platform, [make_entry(n) for n in range(3)])
    async with unit_of_work(platform.sessions) as session:
        single = await append_audit_record(session, platform.keyring, make_entry(3))
        # The same transaction keeps its chain: a batch after a single append follows it.
        second = await append_audit_records(session, platform.keyring, [make_entry(n) for n in range(4, 6)])
    third = await append_batch(platform, [make_entry(6)])
    fourth = await append_batch(platform, [make_entry(n) for n in range(7, 9)])

    sequences = [record.sequence for record in [*first, single, *second, *third, *fourth]]
    assert sequences == list(range(1, 10))
    assert {record.chain for record in [*first, single, *second, *third, *fourth]} == {0}
    report = await verify(platform)
    assert report.intact, report.problem
    assert report.records_checked == 9


async def test_concurrent_batches_take_different_chains_and_all_verify(platform: Platform) -> None:
    async def write(batch: int) -> list[AppendedRecord]:
        async with unit_of_work(platform.sessions) as session:
            appended = await append_audit_records(
                session, platform.keyring, [make_entry(batch * 100 + n) for n in range(20)]
            )
            await asyncio.sleep(0.05)  # hold the head while the other batches look for one
            return appended

    batches = await asyncio.gather(*(write(batch) for batch in range(6)))

    chains = [{record.chain for record in batch} for batch in batches]
    assert all(len(chain) == 1 for chain in chains)  # a batch never spans chains
    assert len(set.union(*chains)) > 1, "concurrent batches should not all queue on one chain"
    by_chain: dict[int, list[int]] = {}
    for record in (record for batch in batches for record in batch):
        by_chain.setdefault(record.chain, []).append(record.sequence)
    assert all(sorted(sequences) == list(range(1, len(sequences) + 1)) for sequences in by_chain.values())
    report = await verify(platform)
    assert report.intact, report.problem
    assert report.records_checked == 120
    assert {chain: report.head_sequences[chain] for chain in by_chain} == {c: len(s) for c, s in by_chain.items()}


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        (f"UPDATE {RECORDS} SET entity_id = 'acc-x' WHERE sequence = 3", ChainProblemKind.MODIFIED),
        (
            f"UPDATE {RECORDS} a SET changes_ciphertext = b.changes_ciphertext FROM {RECORDS} b "
            "WHERE a.sequence = 3 AND b.sequence = 4",
            ChainProblemKind.MODIFIED,
        ),
        (f"DELETE FROM {RECORDS} WHERE sequence = 3", ChainProblemKind.DELETED),
    ],
    ids=["field", "ciphertext-from-its-neighbour", "deleted"],
)
async def test_tampering_with_one_record_of_a_batch_is_named(
    platform: Platform, statement: str, kind: ChainProblemKind
) -> None:
    appended = await append_batch(platform, [make_entry(n) for n in range(1, 6)])
    tamper(platform.database_url, statement)

    report = await verify(platform)

    assert report.problem is not None
    assert (report.problem.kind, report.problem.chain, report.problem.sequence) == (kind, 0, 3)
    if kind is ChainProblemKind.MODIFIED:
        assert report.problem.record_id == appended[2].record_id
    assert report.records_checked == 2


async def test_an_invalid_entry_refuses_the_whole_batch_before_chaining(platform: Platform) -> None:
    with pytest.raises(InvalidAuditEntry):
        await append_batch(platform, [make_entry(1), make_entry(2, entity_id=""), make_entry(3)])

    assert fetch(platform.database_url, "SELECT sum(last_sequence) FROM audit.chain_head") == [(0,)]
    assert fetch(platform.database_url, f"SELECT count(*) FROM {RECORDS}") == [(0,)]


async def test_each_record_keeps_its_own_correlation_id(platform: Platform) -> None:
    appended = await append_batch(platform, [make_entry(n, correlation_id=f"request-{n}") for n in range(3)])

    assert [record.correlation_id for record in appended] == ["request-0", "request-1", "request-2"]
    stored = fetch(platform.database_url, f"SELECT correlation_id FROM {RECORDS} ORDER BY sequence")
    assert stored == [("request-0",), ("request-1",), ("request-2",)]


async def test_an_empty_batch_writes_nothing(platform: Platform, statements: list[str]) -> None:
    assert await append_batch(platform, []) == []
    assert not [s for s in statements if "audit." in s]
