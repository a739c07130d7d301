"""From an event to an email at a real SMTP server and a message in the in-app inbox: once per event, retried
when the server refuses, never holding up another customer's message."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from notifications.customers.consumers import record_notices
from notifications.customers.models import Channel, Kind, MessageStatus
from notifications.customers.sending import NotificationSender
from obank.database import unit_of_work
from obank.outbox.consumers import Consumer, apply_once
from obank.outbox.record import Event
from obank.runtime import Platform
from obank.topics import PAYMENTS_TOPIC
from tests.notifications.customers.conftest import Holder, SmtpSpy, messages_of


def payment_event(holder: Holder, *, status: str = "ACSC", amount_minor: int = 123_456, **extra: Any) -> Event:
    payload = {
        "payment_id": str(uuid.uuid4()),
        "origin": "FIRST_PARTY",
        "route": "SCHEME",
        "customer_id": str(holder.customer.id),
        "debtor_account_id": str(holder.account.id),
        "creditor_account_id": None,
        "amount_minor": amount_minor,
        "currency": "GBP",
        "status": status,
        "reason": None,
        "consent_id": None,
        "client_id": None,
        "scheme_transaction_id": "tx-1",
        "payee_id": None,
        **extra,
    }
    return Event(
        event_id=uuid.uuid4(),
        topic=PAYMENTS_TOPIC,
        event_type="payment.status_changed",
        key=payload["payment_id"],
        payload=payload,
        correlation_id="corr-notifications",
    )


async def test_a_payment_sent_reaches_the_customer_by_email_and_in_app_once(
    platform: Platform,
    holder: Callable[..., Any],
    consumer: Consumer,
    sender: NotificationSender,
    smtp: SmtpSpy,
    client: httpx.AsyncClient,
    headers_of: Callable[[uuid.UUID], dict[str, str]],
) -> None:
    payer: Holder = await holder(full_name="Ada Lovelace")
    event = payment_event(payer)

    assert await apply_once(platform.sessions, consumer, event) is True
    assert await apply_once(platform.sessions, consumer, event) is False  # redelivered: nothing more
    made = await messages_of(platform, payer.customer.id)
    assert sorted(message.channel for message in made) == [Channel.EMAIL, Channel.IN_APP]
    assert await sender.send_due() == 2
    assert await sender.send_due() == 0

    ((recipients, email),) = smtp.received
    assert recipients == [payer.customer.email]
    assert email["To"] == payer.customer.email
    assert email["Subject"] == "Payment of £1,234.56 sent"
    text = email.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = email.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    ending = payer.account.account_number[-4:]
    assert "Hello Ada," in text and f"ending {ending}" in text and "£1,234.56" in text
    assert "<strong>£1,234.56</strong>" in html and f"ending {ending}" in html
    raw = email.as_string()
    for secret in (payer.account.account_number, payer.account.iban, payer.customer.national_id):
        assert secret not in raw
    assert {message.status for message in await messages_of(platform, payer.customer.id)} == {MessageStatus.SENT}

    headers = headers_of(payer.customer.id)
    page = (await client.get("/api/v1/notifications", headers=headers)).json()
    (shown,) = page["messages"]
    assert shown["kind"] == "payment_sent" and shown["subject"] == "Payment of £1,234.56 sent"
    assert shown["read_at"] is None and f"ending {ending}" in shown["text"]
    read = await client.post(f"/api/v1/notifications/{shown['id']}/read", headers=headers)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    other: Holder = await holder()
    refused = await client.post(f"/api/v1/notifications/{shown['id']}/read", headers=headers_of(other.customer.id))
    assert refused.status_code == 404
    assert (await client.get("/api/v1/notifications", headers=headers_of(other.customer.id))).json()["messages"] == []


async def test_the_same_event_kind_and_channel_make_one_message(platform: Platform, holder: Callable[..., Any]) -> None:
    payer: Holder = await holder()
    from notifications.customers.consumers import Notice

    notice = Notice(Kind.PAYEE_ADDED, payer.customer.id, {})
    event_id, now = uuid.uuid4(), datetime.now(UTC)
    async with unit_of_work(platform.sessions) as session:
        assert await record_notices(session, event_id, [notice], now, occurred_at=now) == 2
    async with unit_of_work(platform.sessions) as session:
        assert await record_notices(session, event_id, [notice, notice], now, occurred_at=now) == 0
    assert len(await messages_of(platform, payer.customer.id)) == 2


async def test_a_refusing_server_is_retried_then_failed_without_holding_up_another_customer(
    platform: Platform,
    holder: Callable[..., Any],
    consumer: Consumer,
    sender: NotificationSender,
    smtp: SmtpSpy,
) -> None:
    refused: Holder = await holder()
    served: Holder = await holder()
    smtp.refused.add(refused.customer.email)
    await apply_once(platform.sessions, consumer, payment_event(refused, status="RJCT", reason="AM04"))
    await apply_once(platform.sessions, consumer, payment_event(served, status="RJCT", reason="AM04"))

    await sender.send_due()
    assert [recipients for recipients, _ in smtp.received] == [[served.customer.email]]
    assert smtp.received[0][1]["Subject"] == "Payment of £1,234.56 not made"
    for _ in range(platform.settings.notifications_max_attempts):
        await sender.send_due()

    (email,) = [m for m in await messages_of(platform, refused.customer.id) if m.channel is Channel.EMAIL]
    assert email.status is MessageStatus.FAILED
    assert email.attempts == platform.settings.notifications_max_attempts
    assert email.last_error == "SMTPRecipientsRefused"
    assert email.recipient_sealed is None  # nothing was sent
    in_app = [m for m in await messages_of(platform, refused.customer.id) if m.channel is Channel.IN_APP]
    assert [m.status for m in in_app] == [MessageStatus.SENT]
    assert len(smtp.received) == 1


async def test_a_payment_cancelled_by_the_customer_tells_nobody(
    platform: Platform, holder: Callable[..., Any], consumer: Consumer
) -> None:
    payer: Holder = await holder()
    await apply_once(platform.sessions, consumer, payment_event(payer, status="RJCT", reason="CUST"))
    assert await messages_of(platform, payer.customer.id) == []
