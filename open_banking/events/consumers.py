"""The consumer that makes TPPs' SETs from core banking's events: payments, payment orders, consents.

It only records (in the event's own transaction, signed with the bank's key); callbacks are POSTed later by
`open_banking.events.delivery`, so no TPP's server ever slows the outbox.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.facade import EventSigner
from obank.outbox.consumers import Consumer
from obank.outbox.record import Event
from open_banking.events import service
from open_banking.events.resources import TOPICS

CONSUMER = "open_banking.events"


def tpp_events_consumer(signer: EventSigner, issuer: str) -> Consumer:
    """`open_banking.events` on core banking's payments, payment orders and consents; `issuer` is the SETs' iss."""

    async def make_set(session: AsyncSession, event: Event) -> None:
        await service.record_resource_update(session, event, signer, issuer)

    return Consumer(name=CONSUMER, topics=TOPICS, handler=make_set)
