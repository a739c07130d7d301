"""Recovery codes: ten, shown once, stored as keyed hashes, each works exactly once."""

from __future__ import annotations

import httpx
import psycopg

from obank.runtime import Platform
from tests.auth_server.helpers import SESSION_COOKIE, enrol, form_token, new_login, sign_in


async def _use_recovery_code(client: httpx.AsyncClient, code: str) -> httpx.Response:
    page = await client.get("/login/recovery")
    assert page.status_code == 200, page.text
    return await client.post("/login/recovery", data={"csrf_token": form_token(page.text), "recovery_code": code})


async def test_a_recovery_code_works_once(platform: Platform, client: httpx.AsyncClient, database_url: str) -> None:
    identity = await new_login(platform, "lost.phone")
    _, codes = await enrol(platform, identity)

    await sign_in(client, "lost.phone")
    used = await _use_recovery_code(client, codes[3].upper().replace("-", " "))  # as a person may type it
    assert used.status_code == 303 and used.headers["location"] == "/account"
    assert (await client.get("/account")).status_code == 200
    await client.post("/logout", data={"csrf_token": form_token((await client.get("/logout")).text)})
    assert SESSION_COOKIE not in client.cookies

    await sign_in(client, "lost.phone")
    again = await _use_recovery_code(client, codes[3])
    assert again.status_code == 400
    assert "recovery code was not accepted" in again.text
    assert (await _use_recovery_code(client, codes[4])).status_code == 303

    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT code_hash, used_at IS NOT NULL FROM auth_server.recovery_codes").fetchall()
        events = [r[0] for r in conn.execute("SELECT event_type FROM platform.outbox_events ORDER BY position")]
    assert len(stored) == 10 and sum(used for _, used in stored) == 2
    for code in codes:
        plain = code.encode()
        assert all(
            plain not in bytes(code_hash) and plain.replace(b"-", b"") not in bytes(code_hash)
            for code_hash, _ in stored
        )
    assert events.count("mfa.recovery_code_used") == 2
