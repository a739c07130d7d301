"""Apply and inspect the Alembic migrations in `migrations/`, and decide who migrates and when."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, pool, text
from sqlalchemy.ext.asyncio import AsyncConnection

import migrations
from obank.database import async_url
from obank.db_roles import ServiceGrants, grant_service_role, service_role_to_grant
from obank.settings import Settings

# The installed `migrations` package (a checkout's or site-packages'), never a path relative to the working directory.
MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent
_APPLIED = "SELECT version_num FROM platform.alembic_version"
_VERSION_TABLE_EXISTS = "SELECT to_regclass('platform.alembic_version') IS NOT NULL"


class SchemaNotAtHead(RuntimeError):
    """The database's schema is not the one this release runs on: `obank migrate` (the migrate job) brings it there."""

    def __init__(self, applied: set[str], heads: set[str], known: set[str]) -> None:
        self.applied, self.heads = applied, heads
        if applied - known:
            message = f"the database is at {_revisions(applied)}, newer than this release ({_revisions(heads)})"
        else:
            message = f"the database is at {_revisions(applied)}, this release needs {_revisions(heads)}"
        super().__init__(f"{message}: run `obank migrate` with this release")


def _revisions(revisions: set[str]) -> str:
    return ", ".join(sorted(revisions)) or "no revision (an empty database)"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.set_main_option("sqlalchemy.url", async_url(database_url).replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str) -> None:
    """Bring every schema to the newest revision (idempotent, safe against concurrent starts)."""
    command.upgrade(alembic_config(database_url), "head")


def head_revisions(database_url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


async def applied_revisions(connection: AsyncConnection) -> set[str]:
    """Revisions recorded in the database (empty before the first migration)."""
    if not await connection.scalar(text(_VERSION_TABLE_EXISTS)):
        return set()
    # Read Alembic's version table directly: MigrationContext logs two INFO lines per call, every probe.
    return set(await connection.scalars(text(_APPLIED)))


def _applied_revisions_sync(connection: Connection) -> set[str]:
    if not connection.scalar(text(_VERSION_TABLE_EXISTS)):
        return set()
    return set(connection.scalars(text(_APPLIED)))


def check_at_head(database_url: str) -> None:
    """Refuse a schema other than this release's head: services never migrate an external database themselves."""
    engine = create_engine(async_url(database_url), poolclass=pool.NullPool, hide_parameters=True)
    try:
        with engine.connect() as connection:
            applied = _applied_revisions_sync(connection)
    finally:
        engine.dispose()
    scripts = ScriptDirectory.from_config(alembic_config(database_url))
    heads = set(scripts.get_heads())
    if applied != heads:
        raise SchemaNotAtHead(applied, heads, {script.revision for script in scripts.walk_revisions()})


def migrate_database(owner_url: str, service_url: str | None) -> ServiceGrants | None:
    """Migrate as the owner role, then grant the service role (when it is another role) read and write, no DDL."""
    service_role = service_role_to_grant(owner_url, service_url)  # a misconfiguration fails before any change
    upgrade_to_head(owner_url)
    return grant_service_role(owner_url, service_role) if service_role else None


def migrates_on_start(settings: Settings) -> bool:
    """Whether `obank serve`/`worker` migrate at start: OBANK_MIGRATE_ON_START, by default only when embedded."""
    if settings.migrate_on_start is not None:
        return settings.migrate_on_start
    return settings.database_url is None
