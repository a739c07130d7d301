"""Migration 20261205_0010 turns clear login usernames into keyed hashes and sealed values, and back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from alembic import command

from audit.trail import platform_units
from auth_server.identities import service as identities
from auth_server.identities.passwords import HASHER
from auth_server.identities.schemas import IdentityKind
from auth_server.identities.service import PasswordVerdict
from obank.crypto import UnknownKeyError
from obank.migrate import alembic_config, upgrade_to_head
from obank.runtime import Platform
from obank.settings import Settings, get_settings
from tests.auth_server.helpers import PASSWORD, TEST_ACTOR

BEFORE = "20261205_0009"
CUSTOMER_EMAIL = "grace.hopper@example.com"
STAFF_EMAIL = "ada.lovelace@example.org"


@pytest.fixture
def application_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The test settings as the environment of `obank migrate`, which the migration reads its keys from."""
    for name, value in {
        "OBANK_ENV": "test",
        "OBANK_DATA_DIR": str(settings.data_dir),
        "OBANK_DATABASE_URL": settings.database_url or "",
        "OBANK_ENCRYPTION_KEYS": settings.encryption_keys or "",
        "OBANK_ACTIVE_ENCRYPTION_KEY_ID": settings.active_encryption_key_id or "",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _clear_logins(database_url: str) -> list[tuple[str, str]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT kind, username FROM auth_server.identities ORDER BY kind").fetchall()
    return [(str(kind), str(username)) for kind, username in rows]


async def test_the_migration_seals_existing_usernames_and_the_downgrade_restores_them(
    platform: Platform, database_url: str, application_settings: pytest.MonkeyPatch
) -> None:
    command.downgrade(alembic_config(database_url), BEFORE)
    customer_ref, now = uuid.uuid4(), datetime.now(UTC)
    with psycopg.connect(database_url) as conn:
        for kind, username, owner, roles in (
            ("customer", CUSTOMER_EMAIL, customer_ref, []),
            ("staff", STAFF_EMAIL, None, ["support"]),
        ):
            conn.execute(
                "INSERT INTO auth_server.identities (id, kind, username, customer_id, roles, password_hash,"
                " password_changed_at, status, failed_login_attempts, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, 'active', 0, %s, %s)",
                (uuid.uuid4(), kind, username, owner, roles, HASHER.hash(PASSWORD), now, now, now),
            )

    upgrade_to_head(database_url)  # as `obank migrate` runs it: the keys come from the settings

    with psycopg.connect(database_url) as conn:
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'auth_server' AND table_name = 'identities'"
            )
        }
        stored = "\n".join(row[0] for row in conn.execute("SELECT t::text FROM auth_server.identities t"))
    assert "username" not in columns and {"username_hash", "username_sealed"} <= columns
    assert str(customer_ref) in stored  # the rows were read
    for email in (CUSTOMER_EMAIL, STAFF_EMAIL):
        assert email not in stored.lower() and email.encode().hex() not in stored
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        customer = await identities.find_identity(uow, IdentityKind.CUSTOMER, "Grace.Hopper@EXAMPLE.com")
        check = await identities.check_password(
            uow, kind=IdentityKind.STAFF, username=STAFF_EMAIL, password=PASSWORD, now=now
        )
    assert customer is not None and customer.customer_id == customer_ref
    assert identities.username_of(platform.keyring, customer) == CUSTOMER_EMAIL
    assert check.verdict is PasswordVerdict.ACCEPTED and check.identity is not None
    assert identities.username_of(platform.keyring, check.identity) == STAFF_EMAIL

    application_settings.delenv("OBANK_ENCRYPTION_KEYS")
    application_settings.delenv("OBANK_ACTIVE_ENCRYPTION_KEY_ID")
    get_settings.cache_clear()  # the settings now hold other (development) keys
    with pytest.raises(UnknownKeyError):
        command.downgrade(alembic_config(database_url), BEFORE)
    # The failed downgrade changed nothing: the usernames are still sealed, and still found.
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        assert await identities.find_identity(uow, IdentityKind.CUSTOMER, CUSTOMER_EMAIL)
    config = alembic_config(database_url)  # a key ring handed to Alembic opens them
    config.attributes["keyring"] = platform.keyring
    command.downgrade(config, BEFORE)
    assert _clear_logins(database_url) == [("customer", CUSTOMER_EMAIL), ("staff", STAFF_EMAIL)]
