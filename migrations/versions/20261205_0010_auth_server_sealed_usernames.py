"""auth_server: login usernames kept as a keyed hash (lookup) and sealed (display), never in clear

Revision ID: 20261205_0010
Revises: 20261205_0009
Create Date: 2026-12-05

Converting existing rows needs the application's key ring: the one a caller hands to Alembic as
`config.attributes["keyring"]`, else the one the settings describe (`OBANK_ENCRYPTION_KEYS`, or the
development keys in the data directory), loaded only when there are rows to convert. The downgrade
restores the clear usernames by unsealing them, and fails (changing nothing) without the keys that sealed them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Row

from obank.crypto import KeyRing, load_keyring, seal, unseal

revision: str = "20261205_0010"
down_revision: str | Sequence[str] | None = "20261205_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "auth_server"
# The purposes at this revision (`auth_server.identities.service` uses the same ones).
USERNAME_HASH_PURPOSE = "auth-username"
USERNAME_SEAL_PURPOSE = "username"
BATCH = 1000


def _keyring() -> KeyRing:
    config = op.get_context().config
    given = None if config is None else config.attributes.get("keyring")
    if isinstance(given, KeyRing):
        return given
    from obank.settings import get_settings

    return load_keyring(get_settings())


def _convert(select: str, update: str, convert: Callable[[KeyRing, Row[Any]], dict[str, object]]) -> None:
    """Rewrite the rows `select` finds still unconverted, BATCH at a time, with the values `convert` makes."""
    connection = op.get_bind()
    keyring: KeyRing | None = None
    while rows := connection.execute(sa.text(select), {"limit": BATCH}).all():
        keyring = keyring or _keyring()
        connection.execute(sa.text(update), [convert(keyring, row) for row in rows])


def _sealed(keyring: KeyRing, row: Row[Any]) -> dict[str, object]:
    username = row.username.strip().lower()
    return {
        "id": row.id,
        "hash": keyring.keyed_hash(USERNAME_HASH_PURPOSE, username.encode()),
        "sealed": seal(keyring, row.id, USERNAME_SEAL_PURPOSE, username.encode()),
    }


def _unsealed(keyring: KeyRing, row: Row[Any]) -> dict[str, object]:
    return {"id": row.id, "username": unseal(keyring, row.id, USERNAME_SEAL_PURPOSE, row.username_sealed).decode()}


def upgrade() -> None:
    op.add_column("identities", sa.Column("username_hash", sa.LargeBinary(), nullable=True), schema=SCHEMA)
    op.add_column("identities", sa.Column("username_sealed", sa.LargeBinary(), nullable=True), schema=SCHEMA)
    _convert(
        "SELECT id, username FROM auth_server.identities WHERE username_hash IS NULL ORDER BY id LIMIT :limit",
        "UPDATE auth_server.identities SET username_hash = :hash, username_sealed = :sealed WHERE id = :id",
        _sealed,
    )
    op.alter_column("identities", "username_hash", nullable=False, schema=SCHEMA)
    op.alter_column("identities", "username_sealed", nullable=False, schema=SCHEMA)
    op.drop_constraint(op.f("uq_identities_kind_username"), "identities", schema=SCHEMA, type_="unique")
    op.drop_constraint(op.f("ck_identities_username_lower_case"), "identities", schema=SCHEMA, type_="check")
    op.drop_column("identities", "username", schema=SCHEMA)
    op.create_unique_constraint(
        op.f("uq_identities_kind_username_hash"), "identities", ["kind", "username_hash"], schema=SCHEMA
    )


def downgrade() -> None:
    op.add_column("identities", sa.Column("username", sa.String(length=64), nullable=True), schema=SCHEMA)
    _convert(
        "SELECT id, username_sealed FROM auth_server.identities WHERE username IS NULL ORDER BY id LIMIT :limit",
        "UPDATE auth_server.identities SET username = :username WHERE id = :id",
        _unsealed,
    )
    op.alter_column("identities", "username", nullable=False, schema=SCHEMA)
    op.drop_constraint(op.f("uq_identities_kind_username_hash"), "identities", schema=SCHEMA, type_="unique")
    op.drop_column("identities", "username_sealed", schema=SCHEMA)
    op.drop_column("identities", "username_hash", schema=SCHEMA)
    op.create_check_constraint(
        op.f("ck_identities_username_lower_case"), "identities", "username = lower(username)", schema=SCHEMA
    )
    op.create_unique_constraint(op.f("uq_identities_kind_username"), "identities", ["kind", "username"], schema=SCHEMA)
