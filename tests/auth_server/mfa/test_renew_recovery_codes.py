"""`/account/recovery-codes`: a recently, strongly signed-in person gets a new set; the old codes stop working."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from auth_server.identities.schemas import IdentityRecord
from obank.runtime import Platform
from tests.auth_server.conftest import ClientFactory
from tests.auth_server.helpers import SESSION_COOKIE, form_token, new_login
from tests.auth_server.mfa.helpers import (
    RECOVERY_CODES,
    SIGN_IN_AGAIN,
    age_sessions,
    enrolled,
    live_session_ids,
    other_session,
    recovery_code_accepted,
    shown_recovery_codes,
    sign_in_strongly,
    totp_accepted,
)
from tests.auth_server.staff_admin.helpers import audit_records, audited_after, events

RENEWED = "mfa.recovery_codes_renewed"


@pytest.fixture
async def customer(platform: Platform) -> IdentityRecord:
    return await new_login(platform, "codes.owner")


async def test_a_new_set_replaces_every_old_code_audited_in_the_same_transaction(
    platform: Platform,
    client: httpx.AsyncClient,
    browser_client: ClientFactory,
    customer: IdentityRecord,
    database_url: str,
) -> None:
    secret, old_codes, steps = await enrolled(platform, customer)
    assert await recovery_code_accepted(platform, customer, old_codes[0])
    await sign_in_strongly(client, "codes.owner", secret, steps)
    async with browser_client() as tablet:
        await other_session(platform, customer, tablet)
        sessions = await live_session_ids(platform, customer)
        token_before = client.cookies[SESSION_COOKIE]

        page = await client.get(RECOVERY_CODES)
        assert page.status_code == 200 and "<strong>9</strong> unused recovery codes left" in page.text
        renewed = await client.post(RECOVERY_CODES, data={"csrf_token": form_token(page.text)})

        assert renewed.status_code == 200, renewed.text
        assert "Save your new recovery codes" in renewed.text and "old recovery codes no longer work" in renewed.text
        new_codes = shown_recovery_codes(renewed.text)
        assert len(set(new_codes)) == 10 and not set(new_codes) & set(old_codes)
        # Sessions and the authenticator app are as they were.
        assert client.cookies[SESSION_COOKIE] == token_before
        assert await live_session_ids(platform, customer) == sessions
        assert (await tablet.get("/account")).status_code == 200

    with psycopg.connect(database_url) as conn:
        code_txs = {row[0] for row in conn.execute("SELECT xmin::text FROM auth_server.recovery_codes").fetchall()}
        (event_tx,) = conn.execute(
            "SELECT xmin::text FROM platform.outbox_events WHERE event_type = %s", (RENEWED,)
        ).fetchone() or (None,)
        (audit_tx,) = conn.execute(
            "SELECT xmin::text FROM audit.audit_records WHERE action = %s", (RENEWED,)
        ).fetchone() or (None,)
    assert len(code_txs) == 1 and code_txs == {event_tx} == {audit_tx}
    (record,) = await audit_records(platform, RENEWED, str(customer.id))
    assert (record.actor_kind, record.actor_id) == ("customer", str(customer.customer_id))
    assert (await audited_after(platform, record))["unused_codes_replaced"] == 9
    (event,) = await events(platform, RENEWED, str(customer.id))
    assert event.payload["customer_id"] == str(customer.customer_id) and event.payload["kind"] == "customer"
    assert not any(code in str(event.payload) for code in new_codes)

    assert not any([await recovery_code_accepted(platform, customer, code) for code in old_codes])
    assert all([await recovery_code_accepted(platform, customer, code) for code in new_codes[:2]])
    assert await totp_accepted(platform, customer, steps.next_code(secret))


async def test_without_a_recent_strong_sign_in_nothing_is_renewed(
    platform: Platform, client: httpx.AsyncClient, customer: IdentityRecord, database_url: str
) -> None:
    secret, old_codes, steps = await enrolled(platform, customer)
    await sign_in_strongly(client, "codes.owner", secret, steps)
    token = form_token((await client.get(RECOVERY_CODES)).text)
    age_sessions(database_url, customer, minutes=16)

    response = await client.post(RECOVERY_CODES, data={"csrf_token": token})

    assert response.status_code == 303 and response.headers["location"] == SIGN_IN_AGAIN[RECOVERY_CODES]
    assert await audit_records(platform, RENEWED, str(customer.id)) == []
    assert await recovery_code_accepted(platform, customer, old_codes[0])


async def test_a_renewal_without_its_csrf_token_is_refused(
    platform: Platform, client: httpx.AsyncClient, customer: IdentityRecord
) -> None:
    secret, old_codes, steps = await enrolled(platform, customer)
    await sign_in_strongly(client, "codes.owner", secret, steps)

    # No token, a forged one: refused as forms from elsewhere; a control character: refused as malformed.
    for data, status in (({}, 403), ({"csrf_token": "A" * 43}, 403), ({"csrf_token": "x\x00"}, 400)):
        refused = await client.post(RECOVERY_CODES, data=data)
        assert refused.status_code == status, refused.text

    assert await audit_records(platform, RENEWED, str(customer.id)) == []
    assert await recovery_code_accepted(platform, customer, old_codes[0])
