"""Alembic environment: one migration history covering every context's schema."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, create_engine, pool, text

from migrations.metadata import all_metadata
from obank.database import CONTEXT_SCHEMAS

config = context.config
target_metadata: list[MetaData] = all_metadata()


def run_migrations_online() -> None:
    """Migrate over one connection, serialised by an advisory lock so concurrent starts do not race."""
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url, poolclass=pool.NullPool, hide_parameters=True)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(7331001)"))
        for schema in CONTEXT_SCHEMAS:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_schemas=True,
            version_table_schema="platform",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.execute(text("SELECT pg_advisory_unlock(7331001)"))
        connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `obank migrate`")
run_migrations_online()
