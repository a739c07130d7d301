"""Alembic migrations for every context's schema; applied by `obank migrate` (at start only on the embedded database
or with OBANK_MIGRATE_ON_START)."""
