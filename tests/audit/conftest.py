"""Helpers for the audit tests: entries, committed appends, and tampering as a database superuser."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from audit import ActorKind, AppendedRecord, AuditEntry, VerificationReport, append_audit_record, verify_chain
from obank.crypto import KeyRing
from obank.database import unit_of_work
from obank.runtime import Platform


def make_entry(n: int = 0, **overrides: Any) -> AuditEntry:
    fields: dict[str, Any] = {
        "actor_kind": ActorKind.CUSTOMER,
        "actor_id": f"customer-{n}",
        "action": "account.frozen",
        "entity_type": "account",
        "entity_id": f"acc-{n}",
        "before": {"status": "active", "n": n},
        "after": {"status": "frozen", "n": n},
        "client_id": "tpp-1",
        "session_id": f"sess-{n}",
        "ip_address": "198.51.100.23",
    }
    fields.update(overrides)
    return AuditEntry(**fields)


async def append_committed(platform: Platform, entry: AuditEntry, keyring: KeyRing | None = None) -> AppendedRecord:
    async with unit_of_work(platform.sessions) as session:
        return await append_audit_record(session, keyring or platform.keyring, entry)


async def verify(platform: Platform, keyring: KeyRing | None = None) -> VerificationReport:
    async with unit_of_work(platform.sessions) as session:
        return await verify_chain(session, keyring or platform.keyring)


def tamper(database_url: str, *statements: str) -> None:
    """Run raw SQL as a superuser who bypasses the append-only triggers, as an intruder could."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SET session_replication_role = replica")
        for statement in statements:
            conn.execute(statement)


def fetch(database_url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture
async def chain_of_six(platform: Platform) -> list[AppendedRecord]:
    """Six committed records, sequences 1 to 6 (index 0 is record 1)."""
    return [await append_committed(platform, make_entry(n)) for n in range(1, 7)]
