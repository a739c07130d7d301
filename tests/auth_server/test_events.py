"""Security events: each an outbox event and an audit record, with the correlation id and the hashed client IP."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import psycopg

from audit.verify import verify_chain
from audit.writer import ip_address_hash
from obank.correlation import HEADER
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.auth_server.helpers import code_at, enrol, form_token, new_login, sign_in, submit_otp

CLIENT_IP = "203.0.113.7"  # the address the test transport reports (conftest)


async def test_each_step_of_a_sign_in_is_an_event_and_an_audit_record(
    platform: Platform, client: httpx.AsyncClient, database_url: str
) -> None:
    identity = await new_login(platform, "traced")
    secret, _ = await enrol(platform, identity)
    failed = await sign_in(client, "traced", "not the right one")
    await sign_in(client, "traced")
    succeeded = await submit_otp(client, code_at(secret, datetime.now(UTC)))
    signed_out = await client.post("/logout", data={"csrf_token": form_token((await client.get("/logout")).text)})

    with psycopg.connect(database_url) as conn:
        outbox = conn.execute(
            "SELECT event_type, key, correlation_id, payload FROM platform.outbox_events"
            " WHERE topic = 'auth_server.security' ORDER BY position"
        ).fetchall()
        audit = conn.execute(
            "SELECT action, entity_id, correlation_id, ip_hash, session_id FROM audit.audit_records ORDER BY sequence"
        ).fetchall()
    sign_in_events = [row for row in outbox if row[0] != "identity.created" and row[0] != "mfa.enrolled"]
    assert [row[0] for row in sign_in_events] == ["login.failed", "mfa.totp_used", "login.succeeded", "logout"]
    expected_ip_hash = ip_address_hash(platform.keyring, CLIENT_IP)
    correlation = {
        "login.failed": failed.headers[HEADER],
        "mfa.totp_used": succeeded.headers[HEADER],
        "login.succeeded": succeeded.headers[HEADER],
        "logout": signed_out.headers[HEADER],
    }
    for event_type, key, correlation_id, payload in sign_in_events:
        assert key == str(identity.id)
        assert correlation_id == correlation[event_type]
        assert payload["ip_hash"] == expected_ip_hash.hex()
        assert CLIENT_IP not in str(payload)
    audited = {row[0]: row for row in audit}
    for event_type, _, correlation_id, _ in sign_in_events:
        _, entity_id, audit_correlation, ip_hash, _ = audited[event_type]
        assert (entity_id, audit_correlation, bytes(ip_hash)) == (str(identity.id), correlation_id, expected_ip_hash)
    assert audited["login.succeeded"][4] is not None  # the session id is recorded
    async with unit_of_work(platform.sessions) as session:
        assert (await verify_chain(session, platform.keyring)).intact
