"""What is kept and told: subjects, texts, file names and files sealed at rest; each change's audit record and
event commit in its own transaction with it, carrying ids only; support's answer tells the customer there is a
message (in-app and email), never what it says."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from core_banking.facade import InProcessCoreBanking
from notifications.customers.consumers import customer_notifications_consumer
from notifications.customers.models import Channel, CustomerMessage, Kind, MessageStatus
from notifications.customers.rendering import Context, Renderer
from notifications.customers.sending import NotificationSender
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.core_banking.helpers import new_customer
from tests.notifications.conversations.conftest import (
    CUSTOMER_BASE,
    PNG,
    STAFF_BASE,
    HeadersFor,
    fetch_all,
)
from tests.notifications.customers.conftest import deliver_outbox

SUBJECT = "Subject-7f3a9 mortgage arrears"
TEXT = "Text-2b81c my national insurance number is QQ123456C"
FILE_NAME = "Filename-9d4e0 payslip.png"
FILE_MARK = b"Content-5c6d1 salary 42,000"
ANSWER = "Answer-0e7b2 your new PIN is on its way"
MARKERS = (SUBJECT, TEXT, FILE_NAME.split()[0], FILE_MARK.decode(), ANSWER)


async def _table_bytes(platform: Platform, table: str) -> bytes:
    """Every row of a table as PostgreSQL writes it out (text form, bytea in hex) and every bytea column raw."""
    rows = await fetch_all(platform, f"SELECT t::text, to_jsonb(t)::text FROM {table} t")
    raw = await fetch_all(
        platform,
        "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || table_name = :t "
        "AND data_type = 'bytea'",
        t=table,
    )
    dumped = b"".join(f"{row[0]}\n{row[1]}\n".encode() for row in rows)
    for (column,) in raw:
        for (value,) in await fetch_all(platform, f"SELECT {column} FROM {table}"):
            dumped += bytes(value or b"")
    return dumped


def _forms(marker: str) -> list[bytes]:
    """A marker as it could appear: raw, or hex as PostgreSQL writes a bytea out."""
    return [marker.encode(), marker.encode().hex().encode()]


async def test_what_people_write_is_sealed_at_rest_and_never_told(
    platform: Platform, client: httpx.AsyncClient, alice: dict[str, str], support: dict[str, str]
) -> None:
    opened = await client.post(CUSTOMER_BASE, json={"subject": SUBJECT, "text": TEXT}, headers=alice)
    thread_id = opened.json()["id"]
    sent = await client.post(
        f"{CUSTOMER_BASE}/{thread_id}/messages",
        data={"text": TEXT},
        files=[("files", (FILE_NAME, PNG + FILE_MARK, "image/png"))],
        headers=alice,
    )
    assert sent.status_code == 201, sent.text
    await client.post(f"{STAFF_BASE}/{thread_id}/messages", json={"text": ANSWER}, headers=support)
    read = await client.get(f"{CUSTOMER_BASE}/{thread_id}", headers=alice)
    assert SUBJECT in read.text and TEXT in read.text and ANSWER in read.text and FILE_NAME in read.text

    for table in (
        "notifications.conversations",
        "notifications.conversation_messages",
        "notifications.conversation_attachments",
        "platform.outbox_events",
        "audit.audit_records",
    ):
        dumped = await _table_bytes(platform, table)
        assert dumped, table
        for marker in MARKERS:
            for form in _forms(marker):
                assert form not in dumped, (table, marker)


async def test_each_change_commits_with_its_audit_record_and_event(
    platform: Platform, client: httpx.AsyncClient, alice: dict[str, str], support: dict[str, str]
) -> None:
    opened = await client.post(CUSTOMER_BASE, json={"subject": "Hello", "text": "First"}, headers=alice)
    thread_id = opened.json()["id"]
    added = await client.post(f"{STAFF_BASE}/{thread_id}/messages", json={"text": "Answer"}, headers=support)
    await client.post(f"{STAFF_BASE}/{thread_id}/close", headers=support)

    async def transaction_of(sql: str, **params: str) -> set[str]:
        return {row[0] for row in await fetch_all(platform, sql, **params)}

    opened_tx = await transaction_of(
        "SELECT xmin::text FROM notifications.conversation_messages WHERE id = :m", m=opened.json()["messages"][0]["id"]
    )
    added_tx = await transaction_of(
        "SELECT xmin::text FROM notifications.conversation_messages WHERE id = :m", m=added.json()["id"]
    )
    closed_tx = await transaction_of("SELECT xmin::text FROM notifications.conversations WHERE id = :c", c=thread_id)
    events = await fetch_all(
        platform,
        "SELECT event_type, xmin::text FROM platform.outbox_events WHERE payload->>'conversation_id' = :c "
        "ORDER BY position",
        c=thread_id,
    )
    records = await fetch_all(
        platform,
        "SELECT action, xmin::text FROM audit.audit_records WHERE entity_id = :c ORDER BY occurred_at, chain, sequence",
        c=thread_id,
    )
    expected = [
        ("conversation.opened", opened_tx),
        ("conversation.message_added", added_tx),
        ("conversation.closed", closed_tx),
    ]
    assert [(event_type, {tx}) for event_type, tx in events] == expected
    assert [(action, {tx}) for action, tx in records] == expected
    assert len({next(iter(tx)) for _, tx in expected}) == 3  # three requests, three transactions


async def test_support_answers_tell_the_customer_there_is_a_message_but_not_what_it_says(
    platform: Platform, client: httpx.AsyncClient, headers_for: HeadersFor, support: dict[str, str]
) -> None:
    customer = await new_customer(platform.sessions, platform.keyring)
    headers = headers_for(customer.id)
    opened = await client.post(CUSTOMER_BASE, json={"subject": SUBJECT, "text": TEXT}, headers=headers)
    thread_id = opened.json()["id"]
    core = InProcessCoreBanking(platform.sessions, platform.keyring)
    consumer = customer_notifications_consumer(platform.settings, core)
    await deliver_outbox(platform, consumer)

    async def notices() -> list[CustomerMessage]:
        async with unit_of_work(platform.sessions) as session:
            query = select(CustomerMessage).where(CustomerMessage.customer_id == customer.id)
            return list((await session.scalars(query.order_by(CustomerMessage.channel))).all())

    assert await notices() == []  # the customer's own message tells them nothing
    await client.post(f"{STAFF_BASE}/{thread_id}/messages", json={"text": ANSWER}, headers=support)
    await deliver_outbox(platform, consumer)
    made = await notices()
    assert [(m.kind, m.channel) for m in made] == [
        (Kind.SECURE_MESSAGE, Channel.EMAIL),
        (Kind.SECURE_MESSAGE, Channel.IN_APP),
    ]
    assert set(made[0].facts) == {"conversation_id", "occurred_at"} and made[0].facts["conversation_id"] == thread_id

    rendered = Renderer().render(Kind.SECURE_MESSAGE, Context(facts=dict(made[0].facts), first_name="Ada"))
    assert rendered.subject == "You have a new secure message from obank"
    for part in (rendered.subject, rendered.text, rendered.html):
        assert ANSWER not in part and SUBJECT not in part

    sender = NotificationSender(platform, core, transports={})  # in-app needs no transport; email's is not tested here
    await sender.send_due()
    assert {m.status for m in await notices()} == {MessageStatus.SENT}
    inbox = await client.get("/api/v1/notifications", headers=headers)
    [notice] = inbox.json()["messages"]
    assert notice["kind"] == "secure_message" and notice["subject"] == "You have a new secure message from obank"
    assert "open Messages" in notice["text"] and ANSWER not in json.dumps(notice)
