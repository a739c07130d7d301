"""The payment saga's event-driven steps, and the bank's side of the Faster Payments scheme.

Each consumer runs in the transaction `apply_once` opens for its event, reporting like any unit of work; the
event is marked consumed in that same transaction, so a step is applied once however often it is delivered.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from audit.writer import append_audit_records
from core_banking.payments import service
from faster_payments import messages
from fraud.decisions import FraudDecisions
from obank.actor import Actor
from obank.crypto import KeyRing
from obank.log import get_logger
from obank.outbox.consumers import Consumer
from obank.outbox.record import Event
from obank.topics import FPS_TO_BANK_TOPIC, PAYMENTS_TOPIC
from obank.unit_of_work import UnitOfWork

SAGA_CONSUMER = "core_banking.payments.saga"
SCHEME_CONSUMER = "core_banking.payments.scheme"
SAGA_ACTOR = Actor.system("core_banking.payments")
_log = get_logger("core_banking.payments.consumers")


def saga_consumer(
    keyring: KeyRing,
    fraud: FraudDecisions,
    timing: service.SchemeTiming,
    review: service.FraudReview | None = None,
) -> Consumer:
    """Screen a submitted payment; dispatch a screened one."""

    async def apply(session: AsyncSession, event: Event) -> None:
        if event.event_type not in (service.SUBMITTED, service.SCREENED_EVENT):
            return
        payment_id = uuid.UUID(str(event.payload["payment_id"]))
        uow = UnitOfWork(session, keyring, SAGA_ACTOR, append_audit_records)
        if event.event_type == service.SUBMITTED:
            await service.screen(uow, payment_id, fraud, review=review)
        else:
            await service.dispatch(uow, payment_id, timing)
        await uow.write_reports()

    return Consumer(name=SAGA_CONSUMER, topics=(PAYMENTS_TOPIC,), handler=apply)


def scheme_consumer(keyring: KeyRing) -> Consumer:
    """The scheme's messages to the bank: answers to its payments (pacs.002), payments received (pacs.008)."""

    async def apply(session: AsyncSession, event: Event) -> None:
        try:
            message = messages.decode(event.event_type, str(event.payload.get("xml", "")))
        except messages.InvalidMessage as error:
            # A message the bank cannot read is the scheme's fault; logged by its class, never its content.
            _log.warning("scheme_message_unreadable", error=type(error).__name__, definition=event.event_type[:40])
            return
        uow = UnitOfWork(session, keyring, SAGA_ACTOR, append_audit_records)
        if isinstance(message, messages.StatusReport):
            await service.apply_status_report(uow, message)
        elif isinstance(message, messages.CreditTransfer):
            await service.receive(uow, message)
        await uow.write_reports()

    return Consumer(name=SCHEME_CONSUMER, topics=(FPS_TO_BANK_TOPIC,), handler=apply)
