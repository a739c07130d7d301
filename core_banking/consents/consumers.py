"""Core banking's reactions to other contexts' events about consents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from audit.writer import append_audit_records
from core_banking.consents import repository, service
from core_banking.consents.models import ConsentStatus
from core_banking.consents.schemas import ConsentRecord
from obank.actor import Actor, ActorKind
from obank.crypto import KeyRing
from obank.log import get_logger
from obank.outbox.consumers import Consumer
from obank.outbox.record import Event
from obank.topics import GRANT_REVOKED, GRANTS_TOPIC
from obank.unit_of_work import UnitOfWork

CONSENT_WITHDRAWAL_CONSUMER = "core_banking.consent_withdrawal"
_log = get_logger("core_banking.consents.consumers")


def consent_withdrawal_consumer(keyring: KeyRing) -> Consumer:
    """A customer withdrew a grant: its authorised long-lived consent is revoked too (idempotent)."""

    async def apply(session: AsyncSession, event: Event) -> None:
        payload = event.payload
        consent_id, customer_id = payload.get("consent_id"), payload.get("customer_id")
        if event.event_type != GRANT_REVOKED or not consent_id or not customer_id:
            return
        consent = await repository.get(session, str(consent_id), for_update=True)
        now = datetime.now(UTC)
        if (
            consent is None
            or consent.kind not in service.REVOCABLE_KINDS
            or ConsentRecord.from_model(consent).effective(now).status is not ConsentStatus.AUTHORISED
            or consent.customer_id != uuid.UUID(str(customer_id))
        ):
            return  # nothing to withdraw: a payment consent, already ended, or not this customer's
        actor = Actor(ActorKind.CUSTOMER, str(customer_id), consent.client_id)
        # The consumer's own transaction (apply_once commits it), reporting like any other unit of work.
        uow = UnitOfWork(session, keyring, actor, append_audit_records)
        await service.revoke_consent(uow, consent.id, now=now)
        await uow.write_reports()
        _log.info("consent_withdrawn_with_grant", grant_id=payload.get("grant_id"))

    return Consumer(name=CONSENT_WITHDRAWAL_CONSUMER, topics=(GRANTS_TOPIC,), handler=apply)
