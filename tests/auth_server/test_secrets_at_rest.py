"""No password, TOTP secret, TOTP code or recovery code reaches the logs or the database in clear."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from obank.log import configure_logging
from obank.runtime import Platform
from tests.auth_server.helpers import PASSWORD, code_at, form_token, new_login, sign_in, submit_otp

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
