"""Customer transfers: run once per idempotency key, checked and booked by the ledger, audited and published.

The ledger's `post_transfer` enforces every rule under the account row locks (ownership, status,
currency, funds with overdraft, daily and monthly limits); this module adds the transfer resource,
its idempotency and its event and audit record. Every transfer counts against the source account's
outgoing limits, including between the customer's own accounts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core_banking.accounts import service as accounts_service
from core_banking.accounts.models import AccountKind
from core_banking.idempotency.service import (
    IdempotentOutcome,
    KeyCompletion,
    execute_once_completing,
    request_fingerprint,
)
from core_banking.ledger import service as ledger_service
from core_banking.ledger.schemas import PostedEntry
from core_banking.transfers import repository
from core_banking.transfers.errors import TransferNotFound
from core_banking.transfers.models import TransferStatus
from core_banking.transfers.schemas import TransferCreate, TransferRead, TransferRecord
from fraud.decisions import Decision, FraudDecisions, PaymentFacts
from obank.database import Companion
from obank.unit_of_work import UnitOfWork

TOPIC = "core_banking.transfers"


def idempotency_scope(customer_id: uuid.UUID) -> str:
    """Idempotency keys belong to the customer who used them."""
    return f"customer:{customer_id}"


@dataclass(frozen=True, slots=True)
class TransferScreening:
    """What the fraud checks saw of a transfer: its payee's account (14 digits), whether it is the customer's
    own, and the decision (None between one's own accounts: no money leaves them)."""

    creditor_account: str
    own_account: bool
    decision: Decision | None = None


async def screen_transfer(
    statements: AsyncEngine,
    fraud: FraudDecisions,
    customer_id: uuid.UUID,
    request: TransferCreate,
    *,
    session_id: str | None,
    now: datetime,
) -> TransferScreening | None:
    """The fraud decision on a transfer to another customer's account, before money moves; None for accounts
    the booking will refuse anyway (unknown, another customer's source, an internal destination)."""
    accounts = await repository.screening_accounts(
        statements, request.source_account_id, request.destination_account_id
    )
    source = accounts.get(request.source_account_id)
    destination = accounts.get(request.destination_account_id)
    if source is None or destination is None:
        return None
    if source.customer_id != customer_id or destination.kind != AccountKind.CUSTOMER:
        return None
    creditor = f"{destination.sort_code}{destination.account_number}"
    if destination.customer_id == customer_id:
        return TransferScreening(creditor, own_account=True)
    decision = await fraud.decide(
        PaymentFacts(
            payment_id=uuid.uuid4(),
            customer_id=customer_id,
            debtor_account_id=source.id,
            amount_minor=request.amount_minor,
            currency=request.currency,
            creditor_identification=creditor,
            external=False,
            client_id=None,
            created_at=now,
            creditor_account=creditor,
            session_id=session_id,
        )
    )
    return TransferScreening(creditor, own_account=False, decision=decision)


def record_stopped_transfer(
    uow: UnitOfWork, customer_id: uuid.UUID, request: TransferCreate, decision: Decision
) -> None:
    """A transfer the fraud checks stopped: on file for analysts (no money moved, nothing else kept)."""
    uow.audit(
        action="transfer.fraud_stopped",
        entity_type="customer",
        entity_id=str(customer_id),
        after={
            "source_account_id": str(request.source_account_id),
            "destination_account_id": str(request.destination_account_id),
            "amount_minor": request.amount_minor,
            "currency": request.currency,
            "fraud": decision.snapshot(),
        },
    )


async def _book(
    session: AsyncSession,
    customer_id: uuid.UUID,
    request: TransferCreate,
    now: datetime | None,
    completion: KeyCompletion,
) -> tuple[TransferRecord, dict[str, Any]]:
    """Book the transfer, its row and its idempotent answer in one statement; every refusal comes before it."""
    transfer_id = uuid.uuid4()
    booked: list[tuple[TransferRecord, dict[str, Any]]] = []

    def companions(entry: PostedEntry) -> list[Companion]:
        record = TransferRecord(
            id=transfer_id,
            customer_id=customer_id,
            source_account_id=request.source_account_id,
            destination_account_id=request.destination_account_id,
            amount_minor=request.amount_minor,
            currency=request.currency,
            description=request.description,
            status=TransferStatus.COMPLETED,
            entry_id=entry.id,
            created_at=entry.booked_at,
        )
        body = TransferRead.from_record(record).model_dump(mode="json")
        booked.append((record, body))
        return [repository.transfer_companion(record), completion.companion(201, body)]

    # The bank's own accounts are not payees: the ledger refuses them as not found, before booking.
    await ledger_service.post_transfer(
        session,
        request.source_account_id,
        request.destination_account_id,
        request.money,
        description=request.description,
        reference=str(transfer_id),
        debtor_customer_id=customer_id,
        now=now,
        customer_creditor_only=True,
        companions=companions,
    )
    return booked[0]


async def _report(uow: UnitOfWork, record: TransferRecord, screening: TransferScreening | None) -> None:
    if screening is None:  # a caller that did not screen (the route always does): read the payee's account
        destination = await accounts_service.get_account(uow.session, record.destination_account_id)
        screening = TransferScreening(
            f"{destination.sort_code}{destination.account_number}", destination.customer_id == record.customer_id
        )
    snapshot = {
        **record.snapshot(),
        "created_at": record.created_at.isoformat(),
        "creditor_account": screening.creditor_account,
        "own_account": screening.own_account,
    }
    if screening.decision is not None:
        uow.audit(
            action="transfer.fraud_decision",
            entity_type="transfer",
            entity_id=str(record.id),
            after=screening.decision.snapshot(),
        )
    uow.publish(topic=TOPIC, event_type="transfer.completed", key=str(record.source_account_id), payload=snapshot)
    uow.audit(
        action="transfer.completed",
        entity_type="transfer",
        entity_id=str(record.id),
        after={**snapshot, "description": record.description},
    )


async def make_transfer(
    uow: UnitOfWork,
    customer_id: uuid.UUID,
    request: TransferCreate,
    *,
    idempotency_key: str,
    screening: TransferScreening | None = None,
    now: datetime | None = None,
) -> IdempotentOutcome:
    """Book `customer_id`'s transfer once per key (24 hours); a retry gets the first answer back.

    A refusal is answered (and replayed) as a problem document; nothing of it is kept but the answer.
    """

    # No default `now` here: the ledger stamps the entry after taking its locks, so an account's
    # postings are stamped in the order their running balances were computed.
    async def run(completion: KeyCompletion) -> tuple[int, dict[str, Any]]:
        record, body = await _book(uow.session, customer_id, request, now, completion)
        await _report(uow, record, screening)
        return 201, body

    return await execute_once_completing(
        uow,
        scope=idempotency_scope(customer_id),
        key=idempotency_key,
        fingerprint=request_fingerprint("transfer", request.model_dump(mode="json")),
        operation=run,
        now=now,
    )


async def get_transfer(session: AsyncSession, customer_id: uuid.UUID, transfer_id: uuid.UUID) -> TransferRecord:
    """A transfer the customer made; anyone else's is not found."""
    record = await repository.get_for_customer(session, customer_id, transfer_id)
    if record is None:
        raise TransferNotFound(transfer_id)
    return record
