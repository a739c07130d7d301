"""The service role's privileges: what `obank migrate` grants the role every process connects as.

Two database roles: the owner (OBANK_MIGRATION_DATABASE_URL) owns every schema, table and trigger and is used only
by `obank migrate`; the service role (OBANK_DATABASE_URL) reads and writes rows and nothing more. A compromised
process can then neither alter a table, drop the ledger's append-only triggers nor rewrite the book of record: on
append-only tables (a trigger named `<table>_append_only`, see migrations/) it may only read and insert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from obank.database import CONTEXT_SCHEMAS, async_url

TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")  # never TRUNCATE, REFERENCES or TRIGGER
APPEND_ONLY_REVOKED = ("UPDATE", "DELETE")
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT")  # nextval and currval; not setval (UPDATE)
APPEND_ONLY_TRIGGER_SUFFIX = "_append_only"

_APPEND_ONLY_TABLES = """
SELECT DISTINCT n.nspname, c.relname
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND right(t.tgname, %(suffix_length)s) = %(suffix)s AND n.nspname = ANY(%(schemas)s)
ORDER BY 1, 2
"""
# Anything in obank's schemas (or a schema itself) the service role owns: an owner holds every privilege regardless.
_OWNED_BY_SERVICE = """
WITH service AS (SELECT oid FROM pg_roles WHERE rolname = %(role)s),
obank AS (SELECT oid, nspowner FROM pg_namespace WHERE nspname = ANY(%(schemas)s))
SELECT (SELECT count(*) FROM pg_class WHERE relowner IN (SELECT oid FROM service)
            AND relnamespace IN (SELECT oid FROM obank))
     + (SELECT count(*) FROM pg_proc WHERE proowner IN (SELECT oid FROM service)
            AND pronamespace IN (SELECT oid FROM obank))
     + (SELECT count(*) FROM obank WHERE nspowner IN (SELECT oid FROM service))
"""


class ServiceRoleError(RuntimeError):
    """The service role cannot be confined as configured (one line, naming the role, never a URL)."""


@dataclass(frozen=True)
class ServiceGrants:
    """What `grant_service_role` granted: the role, the schemas, and the tables it may only read and insert."""

    role: str
    schemas: tuple[str, ...]
    append_only: tuple[str, ...]


def libpq_url(url: str) -> str:
    """The libpq form of an obank database URL (psycopg's connect takes no SQLAlchemy driver suffix)."""
    return "postgresql://" + async_url(url).removeprefix("postgresql+psycopg://")


def _user(url: str) -> str:
    """The role a URL connects as: its user, or (libpq defaults: PGUSER, the OS user) what the server says."""
    username = make_url(async_url(url)).username
    if username:
        return username
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute("SELECT current_user").fetchone()
    assert row is not None
    return str(row[0])


def service_role_to_grant(owner_url: str, service_url: str | None) -> str | None:
    """The service role `obank migrate` must grant, or None when there is one role (or no service URL)."""
    if service_url is None or service_url == owner_url:
        return None
    owner_db, service_db = make_url(async_url(owner_url)).database, make_url(async_url(service_url)).database
    if owner_db and service_db and owner_db != service_db:
        raise ServiceRoleError(
            f"OBANK_MIGRATION_DATABASE_URL names database {owner_db!r}, OBANK_DATABASE_URL {service_db!r}: "
            "they must name the same database"
        )
    service = _user(service_url)
    return None if service == _user(owner_url) else service


def _refuse_unconfinable(conn: psycopg.Connection[Any], role: str, schemas: Sequence[str]) -> None:
    """A superuser, a member of the owner role or an owner of obank's objects holds privileges no grant takes away."""
    found = conn.execute(
        "SELECT rolsuper, pg_has_role(rolname, current_user, 'MEMBER') FROM pg_roles WHERE rolname = %s", (role,)
    ).fetchone()
    if found is None:
        raise ServiceRoleError(f"the service role {role!r} of OBANK_DATABASE_URL does not exist")
    superuser, member_of_owner = found
    if superuser:
        raise ServiceRoleError(f"the service role {role!r} is a superuser: no grant can confine it")
    if member_of_owner:
        raise ServiceRoleError(f"the service role {role!r} is a member of the owner role: it would own the tables")
    owned = conn.execute(_OWNED_BY_SERVICE, {"role": role, "schemas": list(schemas)}).fetchone()
    if owned is not None and owned[0]:
        raise ServiceRoleError(
            f"the service role {role!r} owns {owned[0]} objects in obank's schemas: "
            f"run `REASSIGN OWNED BY {role} TO <owner role>` first"
        )


def _privileges(names: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL(name) for name in names)


def grant_service_role(owner_url: str, role: str) -> ServiceGrants:
    """Grant `role` exactly what the services need, as the owner, in one transaction (idempotent, run by each migrate).

    Privileges are revoked and granted again so the result is exact whatever was granted before; the default
    privileges make tables a later migration creates readable and writable too, and the next `obank migrate`
    (which always runs this) takes UPDATE and DELETE off any new append-only table.
    """
    grantee = sql.Identifier(role)
    with psycopg.connect(libpq_url(owner_url)) as conn, conn.transaction():
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", (list(CONTEXT_SCHEMAS),))
        present = {row[0] for row in rows.fetchall()}
        schemas = tuple(schema for schema in CONTEXT_SCHEMAS if schema in present)
        _refuse_unconfinable(conn, role, schemas)
        for schema in schemas:
            name = sql.Identifier(schema)
            for statement in (
                "REVOKE ALL ON SCHEMA {schema} FROM {role}",
                "GRANT USAGE ON SCHEMA {schema} TO {role}",
                "REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
                "GRANT {tables} ON ALL TABLES IN SCHEMA {schema} TO {role}",
                "REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}",
                "GRANT {sequences} ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
                "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {role}",
                "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {tables} ON TABLES TO {role}",
                "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT {sequences} ON SEQUENCES TO {role}",
                "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT EXECUTE ON FUNCTIONS TO {role}",
            ):
                conn.execute(
                    sql.SQL(statement).format(
                        schema=name,
                        role=grantee,
                        tables=_privileges(TABLE_PRIVILEGES),
                        sequences=_privileges(SEQUENCE_PRIVILEGES),
                    )
                )
        append_only = conn.execute(
            _APPEND_ONLY_TABLES,
            {
                "suffix": APPEND_ONLY_TRIGGER_SUFFIX,
                "suffix_length": len(APPEND_ONLY_TRIGGER_SUFFIX),
                "schemas": list(schemas),
            },
        ).fetchall()
        for schema, table in append_only:
            conn.execute(
                sql.SQL("REVOKE {privileges} ON TABLE {table} FROM {role}").format(
                    privileges=_privileges(APPEND_ONLY_REVOKED), table=sql.Identifier(schema, table), role=grantee
                )
            )
    return ServiceGrants(role, schemas, tuple(f"{schema}.{table}" for schema, table in append_only))
