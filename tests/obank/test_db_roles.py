"""Two database roles: the owner migrates; the service role moves money through the app and can change no schema."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from core_banking.accounts.models import AccountType
from core_banking.ledger import service as ledger
from obank.database import CONTEXT_SCHEMAS, unit_of_work
from obank.db_roles import ServiceGrants, ServiceRoleError, grant_service_role, service_role_to_grant
from obank.migrate import check_at_head, migrate_database
from obank.money import Money
from obank.runtime import Platform, build_platform
from obank.settings import Settings
from tests.conftest import TEST_KEYS
from tests.core_banking.helpers import ledger_problems, new_account, new_customer

APPEND_ONLY = {"core_banking.journal_entries", "core_banking.postings", "audit.audit_records", "audit.decryptions"}


@dataclass(frozen=True)
class Roles:
    owner: str
    service: str
    owner_url: str
    service_url: str
    grants: ServiceGrants


def role_url(admin_url: str, user: str, database: str) -> str:
    return make_url(admin_url).set(username=user, database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def roles(postgres_admin_url: str) -> Iterator[Roles]:
    """A database owned by a fresh owner role, migrated by it as `obank migrate` does, and a fresh service role."""
    suffix = uuid.uuid4().hex[:10]
    owner, service, database = f"owner_{suffix}", f"service_{suffix}", f"roles_{suffix}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(owner)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(service)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(owner)))
    owner_url = role_url(postgres_admin_url, owner, database)
    service_url = role_url(postgres_admin_url, service, database)
    grants = migrate_database(owner_url, service_url)
    assert grants is not None
    yield Roles(owner, service, owner_url, service_url, grants)
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
        conn.execute(sql.SQL("DROP ROLE {}, {}").format(sql.Identifier(service), sql.Identifier(owner)))


@pytest.fixture
async def service_platform(roles: Roles, tmp_path: Path) -> AsyncIterator[Platform]:
    settings = Settings(
        env="test",
        data_dir=tmp_path / "var",
        certs_dir=tmp_path / "certs",
        database_url=roles.service_url,
        encryption_keys=json.dumps(TEST_KEYS),
        active_encryption_key_id="test-1",
    )
    platform = build_platform(settings)
    yield platform
    await platform.close()


def privilege(roles: Roles, check: str, *args: str) -> bool:
    with psycopg.connect(roles.owner_url) as conn:
        row = conn.execute(f"SELECT {check}(%s, {', '.join(['%s'] * len(args))})", (roles.service, *args)).fetchone()
    assert row is not None
    return bool(row[0])


def test_the_service_role_may_read_and_write_every_schema_but_only_append_to_the_book_of_record(roles: Roles) -> None:
    assert roles.grants.role == roles.service
    assert roles.grants.schemas == CONTEXT_SCHEMAS
    assert set(roles.grants.append_only) == APPEND_ONLY
    for schema in CONTEXT_SCHEMAS:
        assert privilege(roles, "has_schema_privilege", schema, "USAGE")
        assert not privilege(roles, "has_schema_privilege", schema, "CREATE")
    assert privilege(roles, "has_table_privilege", "core_banking.accounts", "SELECT, INSERT, UPDATE, DELETE")
    assert privilege(roles, "has_table_privilege", "core_banking.postings", "SELECT, INSERT")
    for table in APPEND_ONLY:
        for refused in ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES"):
            assert not privilege(roles, "has_table_privilege", table, refused), (table, refused)
    check_at_head(roles.service_url)  # what `obank serve` checks, as the service role, before serving


async def test_the_service_role_posts_to_the_ledger_through_the_app(service_platform: Platform) -> None:
    customer = await new_customer(service_platform.sessions, service_platform.keyring)
    first = await new_account(service_platform.sessions, service_platform.keyring, customer.id, funded_minor=9_000)
    second = await new_account(
        service_platform.sessions, service_platform.keyring, customer.id, account_type=AccountType.SAVINGS
    )
    async with unit_of_work(service_platform.sessions) as session:
        entry = await ledger.post_transfer(session, first.id, second.id, Money(4_000, "GBP"), description="Savings")
    assert sorted(posting.amount_minor for posting in entry.postings) == [-4_000, 4_000]
    async with service_platform.engine.connect() as connection:
        assert await ledger_problems(connection) == []


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE core_banking.postings ADD COLUMN note text",
        "ALTER TABLE core_banking.accounts DISABLE TRIGGER ALL",
        "DROP TRIGGER postings_append_only ON core_banking.postings",
        "DROP FUNCTION core_banking.refuse_ledger_change() CASCADE",
        "DROP TABLE core_banking.postings",
        "TRUNCATE core_banking.postings",
        "TRUNCATE core_banking.accounts CASCADE",
        "CREATE TABLE core_banking.shadow (id int)",
        "DELETE FROM audit.audit_records",
        "SELECT setval(pg_get_serial_sequence('core_banking.postings', 'id'), 1)",
    ],
)
def test_the_service_role_cannot_change_the_schema_or_truncate(roles: Roles, statement: str) -> None:
    with psycopg.connect(roles.service_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_updating_a_posting_is_refused_by_privilege_before_any_trigger(roles: Roles) -> None:
    with psycopg.connect(roles.service_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
        conn.execute("UPDATE core_banking.postings SET amount_minor = amount_minor * 2")
    assert refused.value.sqlstate == "42501"
    assert "permission denied for table postings" in str(refused.value)


def test_tables_of_a_later_migration_are_granted_and_a_new_append_only_table_loses_update(roles: Roles) -> None:
    with psycopg.connect(roles.owner_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE core_banking.later_notes (id int)")
        conn.execute("CREATE TABLE core_banking.later_log (id int)")
        conn.execute(
            "CREATE TRIGGER later_log_append_only BEFORE UPDATE OR DELETE ON core_banking.later_log "
            "FOR EACH ROW EXECUTE FUNCTION core_banking.refuse_ledger_change()"
        )
    try:
        assert privilege(roles, "has_table_privilege", "core_banking.later_notes", "SELECT, INSERT, UPDATE, DELETE")
        grants = grant_service_role(roles.owner_url, roles.service)  # as the next `obank migrate` does

        assert "core_banking.later_log" in grants.append_only
        with psycopg.connect(roles.service_url, autocommit=True) as conn:
            conn.execute("INSERT INTO core_banking.later_notes VALUES (1)")
            conn.execute("UPDATE core_banking.later_notes SET id = 2")
            conn.execute("INSERT INTO core_banking.later_log VALUES (1)")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                conn.execute("UPDATE core_banking.later_log SET id = 2")
    finally:
        with psycopg.connect(roles.owner_url, autocommit=True) as conn:
            conn.execute("DROP TABLE core_banking.later_notes, core_banking.later_log")


def test_a_service_role_owning_a_table_is_refused(roles: Roles, postgres_admin_url: str) -> None:
    with psycopg.connect(roles.owner_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE core_banking.handed_over (id int)")
    database = make_url(roles.owner_url).database
    assert database is not None
    with psycopg.connect(role_url(postgres_admin_url, "postgres", database), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER TABLE core_banking.handed_over OWNER TO {}").format(sql.Identifier(roles.service)))
        try:
            with pytest.raises(ServiceRoleError, match=f"REASSIGN OWNED BY {roles.service}"):
                grant_service_role(roles.owner_url, roles.service)
        finally:
            conn.execute("DROP TABLE core_banking.handed_over")


def test_one_role_is_granted_nothing_and_two_databases_are_refused(roles: Roles) -> None:
    assert service_role_to_grant(roles.owner_url, None) is None
    assert service_role_to_grant(roles.owner_url, roles.owner_url) is None
    assert service_role_to_grant(roles.owner_url, roles.owner_url + "&application_name=obank") is None
    assert service_role_to_grant(roles.owner_url, roles.service_url) == roles.service
    other_database = str(make_url(roles.service_url).set(database="elsewhere"))
    with pytest.raises(ServiceRoleError, match="must name the same database"):
        service_role_to_grant(roles.owner_url, other_database)
