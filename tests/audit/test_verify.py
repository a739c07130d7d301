"""verify_chain: an intact chain passes; each kind of tampering is caught at the record it touched."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy.exc import SAWarning

from audit import append_audit_record, verify_chain
from audit.errors import SnapshotRequired
from audit.models import CHAIN_COUNT
from audit.schemas import AppendedRecord, ChainProblemKind
from obank.crypto import KeyRing
from obank.database import unit_of_work
from obank.runtime import Platform
from obank.settings import parse_key_map
from tests.audit.conftest import append_committed, make_entry, tamper, verify

FORGED_ID = uuid.UUID("00000000-0000-4000-8000-00000000f0f0")
COPY_COLUMNS = (
    "correlation_id, actor_kind, actor_id, client_id, session_id, ip_hash, ip_hash_key_id, action, "
    "entity_type, entity_id, occurred_at, changes_key_id, changes_wrapped_key, changes_nonce, "
    "changes_ciphertext, mac_key_id"
)
RECORDS = "audit.audit_records"


@dataclass(frozen=True)
class Tampering:
    statements: tuple[str, ...]
    kind: ChainProblemKind
    sequence: int
    record_at: int | None  # the original sequence of the record the report must name; 0 for the forgery


TAMPERINGS = {
    "modified": Tampering(
        (f"UPDATE {RECORDS} SET action = 'account.unfrozen' WHERE sequence = 3",),
        ChainProblemKind.MODIFIED,
        3,
        3,
    ),
    "ciphertext-swapped": Tampering(
        (
            f"UPDATE {RECORDS} a SET (changes_wrapped_key, changes_nonce, changes_ciphertext) = "
            f"(SELECT b.changes_wrapped_key, b.changes_nonce, b.changes_ciphertext FROM {RECORDS} b "
            "WHERE b.sequence = 6 - a.sequence) WHERE a.sequence IN (2, 4)",
        ),
        ChainProblemKind.MODIFIED,
        2,
        2,
    ),
    "deleted": Tampering((f"DELETE FROM {RECORDS} WHERE sequence = 3",), ChainProblemKind.DELETED, 3, None),
    "deleted-and-renumbered": Tampering(
        (
            f"DELETE FROM {RECORDS} WHERE sequence = 3",
            f"UPDATE {RECORDS} SET sequence = -sequence WHERE sequence > 3",
            f"UPDATE {RECORDS} SET sequence = -sequence - 1 WHERE sequence < 0",
            "UPDATE audit.chain_head SET last_sequence = 5 WHERE id = 0",
        ),
        ChainProblemKind.DELETED,
        3,
        4,
    ),
    "inserted": Tampering(
        (
            f"UPDATE {RECORDS} SET sequence = -sequence WHERE sequence >= 3",
            f"UPDATE {RECORDS} SET sequence = -sequence + 1 WHERE sequence < 0",
            # A forger copies record 2, links to it, and cannot compute a MAC, so reuses one.
            f"INSERT INTO {RECORDS} (chain, sequence, record_id, {COPY_COLUMNS}, prev_mac, mac) "
            f"SELECT 0, 3, '{FORGED_ID}', {COPY_COLUMNS}, mac, mac FROM {RECORDS} WHERE sequence = 2",
            "UPDATE audit.chain_head SET last_sequence = 7 WHERE id = 0",
        ),
        ChainProblemKind.INSERTED,
        3,
        0,
    ),
    "appended-past-head": Tampering(
        (
            f"INSERT INTO {RECORDS} (chain, sequence, record_id, {COPY_COLUMNS}, prev_mac, mac) "
            f"SELECT 0, 7, '{FORGED_ID}', {COPY_COLUMNS}, mac, mac FROM {RECORDS} WHERE sequence = 6",
        ),
        ChainProblemKind.INSERTED,
        7,
        0,
    ),
    "reordered": Tampering(
        (
            f"UPDATE {RECORDS} SET sequence = -sequence WHERE sequence IN (3, 4)",
            f"UPDATE {RECORDS} SET sequence = CASE sequence WHEN -3 THEN 4 ELSE 3 END WHERE sequence < 0",
        ),
        ChainProblemKind.REORDERED,
        3,
        4,
    ),
    "reordered-far-apart": Tampering(
        (
            f"UPDATE {RECORDS} SET sequence = -sequence WHERE sequence IN (2, 5)",
            f"UPDATE {RECORDS} SET sequence = CASE sequence WHEN -2 THEN 5 ELSE 2 END WHERE sequence < 0",
        ),
        ChainProblemKind.REORDERED,
        2,
        5,
    ),
    "truncated": Tampering((f"DELETE FROM {RECORDS} WHERE sequence >= 5",), ChainProblemKind.TRUNCATED, 5, None),
    "truncated-head-rewritten": Tampering(
        (f"DELETE FROM {RECORDS} WHERE sequence >= 5", "UPDATE audit.chain_head SET last_sequence = 4 WHERE id = 0"),
        ChainProblemKind.TRUNCATED,
        5,
        None,
    ),
    "moved-to-another-chain": Tampering(
        (f"UPDATE {RECORDS} SET chain = 1 WHERE sequence = 3",), ChainProblemKind.DELETED, 3, None
    ),
    "head-deleted": Tampering(("DELETE FROM audit.chain_head",), ChainProblemKind.HEAD_MISSING, 7, None),
}


def expected_record_id(chain: list[AppendedRecord], record_at: int | None) -> uuid.UUID | None:
    if record_at is None:
        return None
    return FORGED_ID if record_at == 0 else chain[record_at - 1].record_id


async def test_intact_chain_verifies(platform: Platform, chain_of_six: list[AppendedRecord]) -> None:
    report = await verify(platform)

    assert report.problem is None
    assert report.intact
    assert report.records_checked == 6
    assert report.head_sequences == {0: 6, **{chain: 0 for chain in range(1, CHAIN_COUNT)}}


async def test_empty_chain_verifies(platform: Platform) -> None:
    report = await verify(platform)

    assert report.intact
    assert (report.records_checked, report.head_sequences) == (0, dict.fromkeys(range(CHAIN_COUNT), 0))


@pytest.mark.parametrize("name", list(TAMPERINGS))
async def test_tampering_is_named(platform: Platform, chain_of_six: list[AppendedRecord], name: str) -> None:
    tampering = TAMPERINGS[name]
    tamper(platform.database_url, *tampering.statements)

    report = await verify(platform)

    assert report.problem is not None, name
    assert report.problem.chain == 0
    assert report.problem.kind == tampering.kind
    assert report.problem.sequence == tampering.sequence
    assert report.problem.record_id == expected_record_id(chain_of_six, tampering.record_at)
    assert report.records_checked == tampering.sequence - 1
    assert f"{tampering.sequence}" in report.problem.detail


async def test_a_broken_chain_is_named_and_the_others_still_verify(platform: Platform) -> None:
    async with unit_of_work(platform.sessions) as holder:
        await append_audit_record(holder, platform.keyring, make_entry(1))
        others = [await append_committed(platform, make_entry(n)) for n in range(2, 5)]
    await append_committed(platform, make_entry(5))
    tamper(platform.database_url, f"UPDATE {RECORDS} SET entity_id = 'acc-x' WHERE chain = 1 AND sequence = 2")

    report = await verify(platform)

    assert [(other.chain, other.sequence) for other in others] == [(1, 1), (1, 2), (1, 3)]
    assert len(report.problems) == 1
    assert report.problem is not None
    assert (report.problem.kind, report.problem.chain, report.problem.sequence, report.problem.record_id) == (
        ChainProblemKind.MODIFIED,
        1,
        2,
        others[1].record_id,
    )
    assert report.records_checked == 3  # chain 0's two records and chain 1's first
    assert "chain 1 record 2" in report.problem.detail


async def test_verification_reads_one_snapshot_while_a_writer_holds_the_head(platform: Platform) -> None:
    await append_committed(platform, make_entry(1))
    async with unit_of_work(platform.sessions) as writer:
        await append_audit_record(writer, platform.keyring, make_entry(2))
        report = await verify(platform)

    assert report.intact
    assert report.records_checked == 1
    assert (await verify(platform)).records_checked == 2


async def test_verification_needs_a_fresh_session(platform: Platform) -> None:
    async with unit_of_work(platform.sessions) as session:
        await session.connection()
        with pytest.raises(SnapshotRequired), pytest.warns(SAWarning, match="execution_options ignored"):
            await verify_chain(session, platform.keyring)


async def test_records_sealed_with_an_absent_key_are_reported(
    platform: Platform, chain_of_six: list[AppendedRecord]
) -> None:
    only_second = KeyRing({"test-2": parse_key_map(platform.settings.encryption_keys or "")["test-2"]}, "test-2")

    report = await verify(platform, only_second)

    assert report.problem is not None
    assert report.problem.kind == ChainProblemKind.UNKNOWN_KEY
    assert (report.problem.sequence, report.problem.record_id) == (1, chain_of_six[0].record_id)


async def test_a_chain_mac_under_a_different_root_key_fails(
    platform: Platform, chain_of_six: list[AppendedRecord]
) -> None:
    impostor = KeyRing({"test-1": b"\x09" * 32, "test-2": b"\x0a" * 32}, "test-1")

    report = await verify(platform, impostor)

    assert report.problem is not None
    assert report.problem.kind == ChainProblemKind.MODIFIED
    assert report.problem.sequence == 1


async def test_long_runs_report_progress(platform: Platform, chain_of_six: list[AppendedRecord]) -> None:
    calls: list[tuple[int, int]] = []
    async with unit_of_work(platform.sessions) as session:
        report = await verify_chain(
            session, platform.keyring, progress=lambda done, total: calls.append((done, total)), progress_every=4
        )

    assert report.intact
    assert calls == [(4, 6), (6, 6)]
