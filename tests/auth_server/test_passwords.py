"""Passwords: argon2id with RFC 9106 parameters, re-hashed at login when they change; a strength policy."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from argon2 import PasswordHasher

from audit.trail import platform_units
from auth_server.identities import service as identities
from auth_server.identities.errors import WeakPassword
from auth_server.identities.passwords import HASHER, check_strength, common_passwords
from auth_server.identities.schemas import IdentityKind, NewIdentity
from auth_server.identities.service import PasswordVerdict
from obank.roles import StaffRole
from obank.runtime import Platform
from tests.auth_server.helpers import PASSWORD, TEST_ACTOR


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "at least 12"),
        ("aaaaaaaaaaaaaaaa", "repeats"),
        ("qwertyuiop12", "too common"),  # on the list as it is
        ("Password2024!!", "too common"),  # a listed word dressed up with digits and symbols
        ("1234567890123", "too common"),
        ("margaret.hamilton-1936", "username"),
    ],
)
def test_weak_passwords_are_refused(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword, match=reason):
        check_strength(password, username="margaret.hamilton")


def test_the_blocklist_is_shipped_and_a_passphrase_passes() -> None:
    blocklist = common_passwords()
    assert len(blocklist) >= 9_000 and {"password", "123456", "qwerty"} <= blocklist
    check_strength("correct horse battery staple", username="margaret")


async def test_hashes_are_argon2id_and_rehashed_when_parameters_change(platform: Platform, database_url: str) -> None:
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        await identities.create_identity(
            uow,
            NewIdentity(
                kind=IdentityKind.STAFF, username="old.hash", password=PASSWORD, roles=frozenset({StaffRole.ADMIN})
            ),
            hasher=weaker,
        )

    def stored() -> str:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT password_hash FROM auth_server.identities").fetchone()
        assert row is not None
        return str(row[0])

    assert stored().startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        check = await identities.check_password(
            uow,
            kind=IdentityKind.STAFF,
            username="old.hash",
            password=PASSWORD,
            now=datetime.now(UTC),
        )
    assert check.verdict is PasswordVerdict.ACCEPTED
    assert stored().startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert not HASHER.check_needs_rehash(stored())
