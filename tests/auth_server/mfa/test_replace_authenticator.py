"""`/mfa/replace`: a recently, strongly signed-in person replaces their authenticator app (a lost or new phone)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import psycopg
import pytest

from auth_server.identities.schemas import IdentityKind, IdentityRecord
from notifications.customers.consumers import read_event
from notifications.customers.models import Kind
from obank.outbox.record import Event
from obank.runtime import Platform
from obank.settings import Settings
from tests.auth_server.conftest import ClientFactory
from tests.auth_server.helpers import SESSION_COOKIE, assert_signed_out, form_token, new_login, sign_in, submit_otp
from tests.auth_server.mfa.helpers import (
    RECOVERY_CODES,
    REPLACE,
    SIGN_IN_AGAIN,
    Steps,
    age_sessions,
    enrolled,
    live_session_ids,
    other_session,
    recovery_code_accepted,
    replacement_form,
    shown_recovery_codes,
    shown_secret,
    sign_in_strongly,
    totp_accepted,
)
from tests.auth_server.staff_admin.helpers import audit_records, audited_after, events

ACR_CA = "urn:openbanking:psd2:ca"


@pytest.fixture
async def customer(platform: Platform) -> IdentityRecord:
    return await new_login(platform, "new.phone")


async def test_without_a_recent_strong_sign_in_the_browser_signs_in_again_and_comes_back(
    platform: Platform, client: httpx.AsyncClient, customer: IdentityRecord, database_url: str
) -> None:
    secret, _, steps = await enrolled(platform, customer)
    for path, location in SIGN_IN_AGAIN.items():
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"] == location

    await sign_in_strongly(client, "new.phone", secret, steps)
    age_sessions(database_url, customer, minutes=16)  # signed in 16 minutes ago: no longer recent enough
    for path, location in SIGN_IN_AGAIN.items():
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"] == location
    token = form_token((await client.get("/account")).text)
    stale_post = await client.post(REPLACE, data={"csrf_token": token, "otp": "123456", "replacement": "x"})
    assert stale_post.status_code == 303 and stale_post.headers["location"] == SIGN_IN_AGAIN[REPLACE]

    # `fresh` asks for the password again although the session is live; then the code; then back here.
    login = await client.get(SIGN_IN_AGAIN[REPLACE])
    assert login.status_code == 200 and 'name="return_to" value="/mfa/replace"' in login.text
    password_step = await sign_in(client, "new.phone", path=SIGN_IN_AGAIN[REPLACE], return_to=REPLACE, sca="1")
    assert password_step.headers["location"] == "/login/otp"
    code_step = await submit_otp(client, steps.next_code(secret))
    assert code_step.status_code == 303 and code_step.headers["location"] == REPLACE
    page = await client.get(REPLACE)
    assert page.status_code == 200 and 'class="qr-code"' in page.text


async def test_a_session_that_proved_only_the_password_signs_in_again(
    platform: Platform, client: httpx.AsyncClient, customer: IdentityRecord, database_url: str
) -> None:
    secret, _, steps = await enrolled(platform, customer)
    await sign_in_strongly(client, "new.phone", secret, steps)
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE auth_server.browser_sessions SET acr = %s, amr = '{pwd}' WHERE identity_id = %s",
            (ACR_CA, customer.id),
        )
    for path, location in SIGN_IN_AGAIN.items():
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"] == location


async def test_a_login_without_totp_enrols_first(platform: Platform, client: httpx.AsyncClient) -> None:
    await new_login(platform, "no.phone")
    assert (await sign_in(client, "no.phone")).headers["location"] == "/account"  # password only, no TOTP yet
    account = await client.get("/account")
    assert "Set up two-step verification" in account.text and REPLACE not in account.text
    for path in (REPLACE, RECOVERY_CODES):
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/mfa/enrol"


async def test_a_code_from_the_new_app_replaces_the_old_one_its_recovery_codes_and_other_sessions(
    platform: Platform,
    client: httpx.AsyncClient,
    browser_client: ClientFactory,
    customer: IdentityRecord,
    database_url: str,
    settings: Settings,
) -> None:
    old_secret, old_codes, steps = await enrolled(platform, customer)
    await sign_in_strongly(client, "new.phone", old_secret, steps)
    account = await client.get("/account")
    assert 'href="/mfa/replace">Set up a new authenticator app' in account.text
    assert 'href="/account/recovery-codes">Get new recovery codes' in account.text
    async with browser_client() as lost_phone, browser_client() as tablet:
        others = {await other_session(platform, customer, lost_phone), await other_session(platform, customer, tablet)}
        (current,) = await live_session_ids(platform, customer) - others
        assert (await lost_phone.get("/account")).status_code == 200
        token_before = client.cookies[SESSION_COOKIE]

        new_secret, fields = await replacement_form(client)
        assert new_secret != old_secret
        replaced = await client.post(REPLACE, data={**fields, "otp": steps.next_code(new_secret)})

        assert replaced.status_code == 200, replaced.text
        assert "Save your new recovery codes" in replaced.text and "signed out everywhere else" in replaced.text
        new_codes = shown_recovery_codes(replaced.text)
        assert len(set(new_codes)) == 10 and not set(new_codes) & set(old_codes)
        assert client.cookies[SESSION_COOKIE] != token_before  # a security change: this session gets a new token
        assert (await client.get("/account")).status_code == 200  # ...and survives
        assert await live_session_ids(platform, customer) == {current}
        assert_signed_out(await lost_phone.get("/account"))
        assert_signed_out(await tablet.get("/account"))

    # The change, its audit record and its event were committed by one transaction.
    with psycopg.connect(database_url) as conn:
        (credential_tx, enrolled_at) = conn.execute(
            "SELECT xmin::text, confirmed_at FROM auth_server.totp_credentials WHERE identity_id = %s", (customer.id,)
        ).fetchone() or (None, None)
        (event_tx,) = conn.execute(
            "SELECT xmin::text FROM platform.outbox_events WHERE event_type = 'mfa.enrolled' AND key = %s",
            (str(customer.id),),
        ).fetchone() or (None,)
        (audit_tx,) = conn.execute(
            "SELECT xmin::text FROM audit.audit_records WHERE action = 'mfa.enrolled' AND entity_id = %s",
            (str(customer.id),),
        ).fetchone() or (None,)
        code_txs = {row[0] for row in conn.execute("SELECT xmin::text FROM auth_server.recovery_codes").fetchall()}
        ended_txs = conn.execute(
            "SELECT DISTINCT xmin::text, end_reason FROM auth_server.browser_sessions WHERE id = ANY(%s)",
            (list(others),),
        ).fetchall()
    assert credential_tx is not None and credential_tx == event_tx == audit_tx
    assert code_txs == {credential_tx} and ended_txs == [(credential_tx, "totp_replaced")]
    assert enrolled_at is not None and (datetime.now(UTC) - enrolled_at).total_seconds() < 60

    (record,) = await audit_records(platform, "mfa.enrolled", str(customer.id))
    assert (record.actor_kind, record.actor_id, record.session_id) == (
        "customer",
        str(customer.customer_id),
        str(current),
    )
    after = await audited_after(platform, record)
    assert after["replaced"] is True and after["other_sessions_ended"] == 2
    (event,) = await events(platform, "mfa.enrolled", str(customer.id))
    payload = event.payload
    assert payload["kind"] == "customer" and payload["customer_id"] == str(customer.customer_id)
    assert payload["replaced"] is True and payload["method"] == "totp"
    assert new_secret not in json.dumps(payload) and old_secret not in json.dumps(payload)
    # The customer is told through the notice every TOTP change sends.
    delivered = Event(
        event_id=event.event_id,
        topic=event.topic,
        event_type=event.event_type,
        key=event.key,
        payload=payload,
        correlation_id=event.correlation_id,
    )
    (notice,) = read_event(delivered, settings, datetime.now(UTC)).notices
    assert (notice.kind, notice.customer_id) == (Kind.TOTP_CHANGED, customer.customer_id)

    # Every old recovery code is gone; the new ones work. The old app's codes no longer do; the new app's do.
    assert not any([await recovery_code_accepted(platform, customer, code) for code in old_codes])
    assert await recovery_code_accepted(platform, customer, new_codes[0])
    old_app = Steps(steps.last)
    assert not await totp_accepted(platform, customer, old_app.next_code(old_secret))
    async with browser_client() as later:
        await sign_in_strongly(later, "new.phone", new_secret, steps)


async def test_a_wrong_or_used_code_shows_the_form_again_and_changes_nothing(
    platform: Platform, client: httpx.AsyncClient, customer: IdentityRecord, database_url: str
) -> None:
    old_secret, old_codes, steps = await enrolled(platform, customer)
    await sign_in_strongly(client, "new.phone", old_secret, steps)
    sessions = await live_session_ids(platform, customer)
    token_before = client.cookies[SESSION_COOKIE]
    new_secret, fields = await replacement_form(client)
    upcoming = Steps(steps.last)  # the codes the next step would take, never accepted below
    wrong = f"{(int(Steps(steps.last).next_code(new_secret)) + 1) % 1_000_000:06d}"

    # A wrong code; the old app's code; the new app's code for the step the sign-in used (a replay).
    for code in (wrong, upcoming.next_code(old_secret), steps.used_code(new_secret)):
        refused = await client.post(REPLACE, data={**fields, "otp": code})
        assert refused.status_code == 400, refused.text
        assert "That code did not match" in refused.text
        assert shown_secret(refused.text) == new_secret  # the same QR code: the app that scanned it stays good

    assert client.cookies[SESSION_COOKIE] == token_before
    assert await live_session_ids(platform, customer) == sessions
    assert await audit_records(platform, "mfa.enrolled", str(customer.id)) == []
    assert await events(platform, "mfa.enrolled", str(customer.id)) == []
    assert await recovery_code_accepted(platform, customer, old_codes[0])  # old recovery codes still work
    with psycopg.connect(database_url) as conn:
        (unused,) = conn.execute(
            "SELECT count(*) FROM auth_server.recovery_codes WHERE used_at IS NULL AND identity_id = %s",
            (customer.id,),
        ).fetchone() or (0,)
    assert unused == 9

    replaced = await client.post(REPLACE, data={**fields, "otp": steps.next_code(new_secret)})
    assert replaced.status_code == 200 and len(shown_recovery_codes(replaced.text)) == 10


async def test_forms_without_their_csrf_token_are_refused(
    platform: Platform, client: httpx.AsyncClient, browser_client: ClientFactory, customer: IdentityRecord
) -> None:
    old_secret, old_codes, steps = await enrolled(platform, customer)
    await sign_in_strongly(client, "new.phone", old_secret, steps)
    new_secret, fields = await replacement_form(client)
    code = Steps(steps.last).next_code(new_secret)

    missing = await client.post(REPLACE, data={"replacement": fields["replacement"], "otp": code})
    forged = await client.post(REPLACE, data={**fields, "csrf_token": "A" * 43, "otp": code})
    async with browser_client() as attacker:  # a token of another browser does not fit this one's cookie
        attacker_token = form_token((await attacker.get("/login")).text)
    foreign = await client.post(REPLACE, data={**fields, "csrf_token": attacker_token, "otp": code})
    renewal = await client.post(RECOVERY_CODES, data={})

    for refused in (missing, forged, foreign, renewal):
        assert refused.status_code == 403 and "This form has expired" in refused.text
    assert await audit_records(platform, "mfa.enrolled", str(customer.id)) == []
    assert await recovery_code_accepted(platform, customer, old_codes[0])
    assert await totp_accepted(platform, customer, steps.next_code(old_secret))  # still the old app


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("otp", "12\x003456"),
        ("otp", "1" * 100_000),
        ("otp", "\u0661\u0662\u0663\u0664\u0665\u0666"),  # Arabic-Indic digits: not a code
        ("replacement", "not-sealed"),
        ("replacement", "\u00e9" * 200),
        ("replacement", "A" * 100_000),
        ("replacement", ""),
        ("replacement", "x\x00y"),
    ],
    ids=[
        "otp-nul",
        "otp-huge",
        "otp-other-digits",
        "offer-garbage",
        "offer-non-ascii",
        "offer-huge",
        "offer-none",
        "offer-nul",
    ],
)
async def test_malformed_input_is_a_form_error_never_a_server_error(
    platform: Platform, client: httpx.AsyncClient, customer: IdentityRecord, field: str, value: str
) -> None:
    old_secret, _, steps = await enrolled(platform, customer)
    await sign_in_strongly(client, "new.phone", old_secret, steps)
    new_secret, fields = await replacement_form(client)

    response = await client.post(REPLACE, data={**fields, "otp": steps.next_code(new_secret), field: value})

    assert 400 <= response.status_code < 500, response.text
    assert await audit_records(platform, "mfa.enrolled", str(customer.id)) == []


async def test_an_offer_from_another_session_is_refused_with_a_new_qr_code(
    platform: Platform, client: httpx.AsyncClient, browser_client: ClientFactory, customer: IdentityRecord
) -> None:
    old_secret, _, steps = await enrolled(platform, customer)
    await sign_in_strongly(client, "new.phone", old_secret, steps)
    async with browser_client() as other:
        await other_session(platform, customer, other)
        their_secret, their_fields = await replacement_form(other)
    _, fields = await replacement_form(client)

    response = await client.post(
        REPLACE, data={**fields, "replacement": their_fields["replacement"], "otp": steps.next_code(their_secret)}
    )

    assert response.status_code == 400 and "This page had expired" in response.text
    assert shown_secret(response.text) not in (their_secret, old_secret)
    assert await audit_records(platform, "mfa.enrolled", str(customer.id)) == []


async def test_staff_sign_in_again_at_the_staff_sign_in(
    platform: Platform, client: httpx.AsyncClient, database_url: str
) -> None:
    staff = await new_login(platform, "staff.member", kind=IdentityKind.STAFF)
    await enrolled(platform, staff)
    await other_session(platform, staff, client)
    assert (await client.get(REPLACE)).status_code == 200
    age_sessions(database_url, staff, minutes=16)

    response = await client.get(REPLACE)

    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?fresh=1&return_to=%2Fmfa%2Freplace"
