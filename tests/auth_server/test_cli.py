"""`obank users ...` as an operator runs it: create, reset-password, unlock, disable; refusals exit 1."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Protocol

import psycopg
import pytest
from typer.testing import CliRunner, Result

from auth_server.cli import app
from obank.runtime import build_platform
from obank.settings import Settings, get_settings
from tests.auth_server.helpers import PASSWORD
from tests.core_banking.helpers import new_customer

NEW_PASSWORD = "amber orchard kettle 55"


class Invoke(Protocol):
    def __call__(self, *args: str, stdin: str | None = None) -> Result: ...


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> Iterator[Invoke]:
    for name, value in {
        "OBANK_ENV": "test",
        "OBANK_DATA_DIR": str(settings.data_dir),
        "OBANK_DATABASE_URL": settings.database_url or "",
        "OBANK_ENCRYPTION_KEYS": settings.encryption_keys or "",
        "OBANK_ACTIVE_ENCRYPTION_KEY_ID": settings.active_encryption_key_id or "",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=stdin)

    yield invoke
    get_settings.cache_clear()


def _onboard_customer(settings: Settings) -> uuid.UUID:
    """A customer of core banking, onboarded as staff would, for a login to belong to."""

    async def onboard() -> uuid.UUID:
        platform = build_platform(settings)
        try:
            return (await new_customer(platform.sessions, platform.keyring)).id
        finally:
            await platform.close()

    return asyncio.run(onboard())


def test_operators_manage_logins(run: Invoke, settings: Settings, database_url: str) -> None:
    customer_id = _onboard_customer(settings)
    created = run(
        "create", "Dana", "--kind", "customer", "--customer-id", str(customer_id), stdin=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert created.exit_code == 0, created.output
    assert "Created customer login dana" in created.output
    assert PASSWORD not in created.output  # the prompt hides what is typed
    staff = run(
        "create",
        "eve",
        "--kind",
        "staff",
        "--role",
        "support",
        "--role",
        "auditor",
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )
    assert staff.exit_code == 0, staff.output

    taken = run(
        "create",
        "DANA",
        "--kind",
        "customer",
        "--customer-id",
        str(_onboard_customer(settings)),
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )
    assert taken.exit_code == 1 and "already in use" in taken.output
    weak = run("create", "frank", "--kind", "staff", "--role", "admin", "--password-stdin", stdin="password123!\n")
    assert weak.exit_code == 1 and "too common" in weak.output

    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE auth_server.identities SET failed_login_attempts = 7, locked_until = now() + interval '1 hour'"
            " WHERE customer_id = %s",
            (customer_id,),
        )
        conn.execute(
            "INSERT INTO auth_server.browser_sessions (id, token_hash, identity_id, stage, amr, acr, created_at,"
            " last_seen_at, absolute_expires_at) SELECT gen_random_uuid(), 'x', id, 'authenticated', '{pwd}', NULL,"
            " now(), now(), now() + interval '1 hour' FROM auth_server.identities WHERE customer_id = %s",
            (customer_id,),
        )
        old_hash = conn.execute(
            "SELECT password_hash FROM auth_server.identities WHERE customer_id = %s", (customer_id,)
        ).fetchone()

    assert run("unlock", "dana", "--kind", "customer").exit_code == 0
    reset = run("reset-password", "dana", "--kind", "customer", "--password-stdin", stdin=f"{NEW_PASSWORD}\n")
    assert reset.exit_code == 0, reset.output
    assert run("disable", "eve", "--kind", "staff").exit_code == 0
    missing = run("unlock", "eve", "--kind", "customer")  # eve is staff: kinds never mix
    assert missing.exit_code == 1 and "no customer login named 'eve'" in missing.output

    with psycopg.connect(database_url) as conn:
        rows = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT kind, failed_login_attempts, locked_until IS NULL, status, password_hash, roles,"
                " customer_id FROM auth_server.identities"
            )
        }
        live_sessions = conn.execute(
            "SELECT count(*) FROM auth_server.browser_sessions WHERE ended_at IS NULL"
        ).fetchone()
        audited = conn.execute(
            "SELECT action, actor_kind FROM audit.audit_records WHERE action LIKE 'identity.%' ORDER BY sequence"
        ).fetchall()
    dana, eve = rows["customer"], rows["staff"]
    assert old_hash is not None
    assert dana[:3] == (0, True, "active") and dana[3] != old_hash[0] and dana[5] == customer_id
    assert eve[2] == "disabled" and sorted(eve[4]) == ["auditor", "support"]
    assert live_sessions == (0,)
    assert [action for action, _ in audited] == [
        "identity.created",
        "identity.created",
        "identity.unlocked",
        "identity.password_reset",
        "identity.disabled",
    ]
    assert {kind for _, kind in audited} == {"system"}


def test_a_customer_login_needs_a_customer_that_exists(run: Invoke, settings: Settings, database_url: str) -> None:
    unknown = uuid.uuid4()
    refused = run(
        "create",
        "grace",
        "--kind",
        "customer",
        "--customer-id",
        str(unknown),
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )
    assert refused.exit_code == 1
    assert f"No customer has the id {unknown}" in " ".join(refused.output.split())

    known = _onboard_customer(settings)
    created = run(
        "create", "grace", "--kind", "customer", "--customer-id", str(known), "--password-stdin", stdin=f"{PASSWORD}\n"
    )
    assert created.exit_code == 0, created.output
    with psycopg.connect(database_url) as conn:
        linked = conn.execute("SELECT customer_id FROM auth_server.identities").fetchall()
    assert linked == [(known,)]
