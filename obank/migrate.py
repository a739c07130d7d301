"""Apply and inspect the Alembic migrations in `migrations/`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from obank.database import async_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


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
    exists = await connection.scalar(text("SELECT to_regclass('platform.alembic_version') IS NOT NULL"))
    if not exists:
        return set()
    # Read Alembic's version table directly: MigrationContext logs two INFO lines per call, every probe.
    rows = await connection.scalars(text("SELECT version_num FROM platform.alembic_version"))
    return set(rows)
