"""No password, TOTP secret, TOTP code, recovery code or login username reaches the logs or the database in clear."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from psycopg import sql

from audit.trail import platform_units, units_of_work
from auth_server.identities import service as identities
from auth_server.identities.errors import UsernameTaken
from auth_server.identities.schemas import IdentityKind, NewIdentity
from auth_server.identities.service import PasswordVerdict
from obank.crypto import KeyRing
from obank.log import configure_logging
from obank.runtime import Platform
from obank.settings import parse_key_map
from tests.auth_server.helpers import PASSWORD, TEST_ACTOR, code_at, form_token, new_login, sign_in, submit_otp

NEW_PASSWORD = "saffron glacier pocket 73"
WRONG_PASSWORD = "maybe-this-one 2024"


def _database_text(database_url: str) -> str:
    """Every row of every table of auth_server, audit and platform (outbox), as PostgreSQL prints it."""
    with psycopg.connect(database_url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema IN ('auth_server', 'audit', 'platform') AND table_type = 'BASE TABLE'"
        ).fetchall()
        parts: list[str] = []
        for schema, table in tables:
            rows = conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t').fetchall()
            parts.extend(row[0] for row in rows)
    return "\n".join(parts)


def _identities_text(database_url: str) -> list[str]:
    """Every column of every row of `auth_server.identities`, each cast to text by PostgreSQL."""
    with psycopg.connect(database_url) as conn:
        columns = [
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'auth_server' AND table_name = 'identities'"
            )
        ]
        casts = sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(column)) for column in columns)
        rows = conn.execute(sql.SQL("SELECT {} FROM auth_server.identities").format(casts)).fetchall()
    return [value for row in rows for value in row if value is not None]


def _leaks(haystack: str, secrets: list[str], codes: list[str]) -> list[str]:
    lowered = haystack.lower()
    found = [s for s in secrets if s.lower() in lowered or s.encode().hex() in lowered]
    # Six digits also occur inside timestamps and hex by chance: look for them as whole tokens only.
    found += [c for c in codes if re.search(rf"(?<![0-9a-z.]){c}(?![0-9a-z])", lowered)]
    return found


async def test_credentials_never_reach_logs_or_the_database(
    platform: Platform,
    client: httpx.AsyncClient,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    configure_logging("DEBUG")
    await new_login(platform, "secretive")
    assert (await sign_in(client, "secretive", WRONG_PASSWORD)).status_code == 400
    assert (await sign_in(client, "secretive")).status_code == 303  # password only: no TOTP yet

    page = await client.get("/mfa/enrol")
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page.text).group(1)  # type: ignore[union-attr]
    now = datetime.now(UTC)
    enrol_code = code_at(secret, now - timedelta(seconds=30))
    shown = await client.post("/mfa/enrol", data={"csrf_token": form_token(page.text), "otp": enrol_code})
    assert shown.status_code == 200
    recovery_codes = re.findall(r'<li class="mono">([0-9a-z]{5}-[0-9a-z]{5})</li>', shown.text)
    assert len(recovery_codes) == 10

    await client.post("/logout", data={"csrf_token": form_token((await client.get("/logout")).text)})
    assert (await sign_in(client, "secretive")).status_code == 303
    login_code = code_at(secret, now)
    assert (await submit_otp(client, login_code)).status_code == 303
    page = await client.get("/account/password")
    changed = await client.post(
        "/account/password",
        data={
            "csrf_token": form_token(page.text),
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 303

    secrets = [
        PASSWORD,
        NEW_PASSWORD,
        WRONG_PASSWORD,
        secret,
        *recovery_codes,
        *(code.replace("-", "") for code in recovery_codes),
    ]
    codes = [enrol_code, login_code]
    captured = capsys.readouterr()
    logs = captured.out + captured.err
    assert '"event": "request"' in logs  # the logs were captured
    assert _leaks(logs, secrets, codes) == []
    stored = _database_text(database_url)
    assert "$argon2id$" in stored  # the rows were read
    assert _leaks(stored, secrets, codes) == []


CUSTOMER_EMAIL = "Grace.Hopper@Example.com"
STAFF_EMAIL = "Ada.Lovelace+staff@Example.org"


async def test_login_usernames_are_stored_only_as_keyed_hashes_and_sealed(
    platform: Platform, client: httpx.AsyncClient, database_url: str
) -> None:
    customer = await new_login(platform, CUSTOMER_EMAIL)
    staff = await new_login(platform, STAFF_EMAIL, kind=IdentityKind.STAFF)

    emails = [CUSTOMER_EMAIL, CUSTOMER_EMAIL.lower(), STAFF_EMAIL, STAFF_EMAIL.lower()]
    stored = _identities_text(database_url)
    assert str(customer.id) in stored and str(staff.id) in stored  # the rows were read, every column
    assert _leaks("\n".join(stored), emails, []) == []
    assert _leaks(_database_text(database_url), emails, []) == []  # nor in audit records or events

    assert (await sign_in(client, f"  {CUSTOMER_EMAIL.upper()} ")).status_code == 303  # trimmed, any case
    account = await client.get("/account")
    assert account.status_code == 200 and CUSTOMER_EMAIL.lower() in account.text  # unsealed to be shown
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        found = await identities.find_identity(uow, IdentityKind.STAFF, STAFF_EMAIL)
        other_kind = await identities.find_identity(uow, IdentityKind.CUSTOMER, STAFF_EMAIL)
    assert found is not None and found.id == staff.id and other_kind is None
    assert identities.username_of(platform.keyring, found) == STAFF_EMAIL.lower()


async def test_logins_are_found_and_stay_unique_after_the_active_key_rotates(platform: Platform) -> None:
    identity = await new_login(platform, CUSTOMER_EMAIL)  # hashed under test-1
    assert platform.settings.encryption_keys is not None
    rotated = KeyRing(parse_key_map(platform.settings.encryption_keys), "test-2")
    under_rotated = units_of_work(platform.sessions, rotated)
    async with under_rotated.begin(TEST_ACTOR) as uow:
        check = await identities.check_password(
            uow,
            kind=IdentityKind.CUSTOMER,
            username=CUSTOMER_EMAIL,
            password=PASSWORD,
            now=datetime.now(UTC),
        )
    assert check.verdict is PasswordVerdict.ACCEPTED and check.identity is not None
    assert check.identity.id == identity.id
    assert identities.username_of(rotated, check.identity) == CUSTOMER_EMAIL.lower()
    again = NewIdentity(
        kind=IdentityKind.CUSTOMER, username=CUSTOMER_EMAIL.upper(), password=PASSWORD, customer_id=uuid.uuid4()
    )
    with pytest.raises(UsernameTaken):
        async with under_rotated.begin(TEST_ACTOR) as uow:
            await identities.create_identity(uow, again)
