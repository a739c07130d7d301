"""The fan-out: each outbox event integrators may receive becomes one message per subscribed, enabled endpoint.

It runs as the consumer `notifications.webhooks` (in `obank serve`'s relay, or `obank worker` on Kafka) and only
writes rows: the delivery loop sends them, so a slow receiver never holds the relay back. `apply_once` skips a
redelivered event, and the (endpoint, event) key refuses a second message besides.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.webhooks import repository
from notifications.webhooks.catalogue import TOPICS, event_type_for
from notifications.webhooks.models import MessageStatus
from obank.outbox.consumers import Consumer
from obank.outbox.record import Event

CONSUMER_NAME = "notifications.webhooks"


def message_body(event_type: str, occurred_at: datetime, data: dict[str, Any]) -> str:
    """The payload Standard Webhooks recommends: `type`, `timestamp` (when the event happened) and `data`."""
    timestamp = occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"type": event_type, "timestamp": timestamp, "data": data}, separators=(",", ":"))


async def fan_out(session: AsyncSession, event: Event) -> int:
    """Add the event's messages; how many were new."""
    entry = event_type_for(event.topic, event.event_type)
    if entry is None:
        return 0
    subscribers = await repository.subscribers(session, entry.name)
    if not subscribers:
        return 0
    body = message_body(entry.name, event.occurred_at, entry.data(event.payload))
    account = entry.account_of(event.payload)
    now = func.now()  # the database's clock, which the delivery loop schedules by
    rows = [
        {
            "id": uuid.uuid4(),
            "endpoint_id": subscriber.endpoint_id,
            "event_id": event.event_id,
            "event_type": entry.name,
            "body": body,
            "ordering_key": account if subscriber.ordered else None,
            "status": MessageStatus.PENDING,
            "next_attempt_at": now,
            "occurred_at": event.occurred_at,
            "created_at": now,
        }
        for subscriber in subscribers
    ]
    return await repository.insert_messages(session, rows)


async def _handle(session: AsyncSession, event: Event) -> None:
    await fan_out(session, event)


def webhook_fanout_consumer() -> Consumer:
    """The consumer `bank/jobs.py` registers."""
    return Consumer(name=CONSUMER_NAME, topics=TOPICS, handler=_handle)
