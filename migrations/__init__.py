"""Alembic migrations for every context's schema; applied by `obank migrate` and at `obank serve` start."""
