"""The Alembic history builds exactly the schema every context's models describe, and can be undone."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from migrations.metadata import all_metadata
from obank.database import CONTEXT_SCHEMAS, async_url
from obank.migrate import alembic_config, upgrade_to_head


def test_models_match_the_migrated_schema(database_url: str) -> None:
    engine = create_engine(async_url(database_url))  # psycopg 3 serves sync engines too
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "compare_type": True,
                "version_table_schema": "platform",
                "include_name": lambda name, kind, _parent: kind != "schema" or name in CONTEXT_SCHEMAS,
                "include_object": lambda _obj, name, kind, _reflected, _compare: (
                    not (kind == "table" and name == "alembic_version")
                ),
            },
        )
        diffs = compare_metadata(context, all_metadata())  # type: ignore[arg-type]  # a list works at run time
    engine.dispose()
    assert diffs == [], "\n".join(map(str, diffs))


def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    command.downgrade(alembic_config(database_url), "base")
    engine = create_engine(async_url(database_url))
    with engine.connect() as connection:
        left = (
            connection.execute(
                text(
                    "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                    "WHERE table_schema = ANY(:s)"
                ),
                {"s": list(CONTEXT_SCHEMAS)},
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert set(left) <= {"platform.alembic_version"}
    upgrade_to_head(database_url)
