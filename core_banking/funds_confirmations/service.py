"""Confirmation of funds: whether the account a funds confirmation consent covers could pay an amount now.

The answer is the account's available balance (booked, plus its overdraft, less open holds) against the
amount, on an account that can make payments; a frozen or closed account has no funds available. Each
check is stored and audited; no money moves and nothing is held.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from core_banking.accounts import service as accounts_service
from core_banking.accounts.models import AccountStatus
from core_banking.consents import service as consents_service
from core_banking.consents.models import ConsentKind
from core_banking.consents.schemas import PsuContext
from core_banking.funds_confirmations import repository
from core_banking.funds_confirmations.errors import InvalidFundsConfirmation
from core_banking.funds_confirmations.models import FundsConfirmation
from core_banking.funds_confirmations.schemas import FundsConfirmationRecord
from obank.money import Money
from obank.unit_of_work import UnitOfWork

TOPIC = "core_banking.funds_confirmations"
MAX_REFERENCE = 35  # OB OBFundsConfirmation1 Reference
AMOUNT_FIELD = "Data.InstructedAmount.Amount"


async def confirm_funds(
    uow: UnitOfWork,
    consent_id: str,
    *,
    client_id: str,
    amount: Money,
    reference: str,
    psu: PsuContext | None = None,
    now: datetime | None = None,
) -> FundsConfirmationRecord:
    """Answer the TPP `client_id` whether its authorised funds confirmation consent's account covers `amount`
    (`psu`: what the TPP tells of its PSU, for the audit record only)."""
    now = now or datetime.now(UTC)
    if not amount.is_positive():
        raise InvalidFundsConfirmation("the amount must be positive", field=AMOUNT_FIELD)
    if not 0 < len(reference) <= MAX_REFERENCE:
        raise InvalidFundsConfirmation(f"must be 1 to {MAX_REFERENCE} characters", field="Data.Reference")
    consent = await consents_service.authorised_consent(
        uow.session, consent_id, client_id=client_id, kind=ConsentKind.FUNDS_CONFIRMATION, now=now
    )
    account = await accounts_service.get_account(uow.session, consent.account_ids[0])
    if account.currency != amount.currency:
        raise InvalidFundsConfirmation(
            f"the account holds {account.currency}; the amount is in {amount.currency}",
            field="Data.InstructedAmount.Currency",
        )
    available = account.status is AccountStatus.ACTIVE and account.balances.available.minor >= amount.minor
    row = FundsConfirmation(
        id=uuid.uuid4(),
        consent_id=consent.id,
        account_id=account.id,
        amount_minor=amount.minor,
        currency=amount.currency,
        reference=reference,
        available=available,
        created_at=now,
    )
    await repository.add(uow.session, row)
    record = FundsConfirmationRecord.from_model(row)
    snapshot = record.snapshot()
    uow.publish(topic=TOPIC, event_type="funds_confirmation.answered", key=consent.id, payload=snapshot)
    uow.audit(
        action="funds_confirmation.answered",
        entity_type="funds_confirmation",
        entity_id=str(record.id),
        after=snapshot if psu is None else {**snapshot, **psu.audit_detail()},
        ip_address=None if psu is None else psu.ip_address,
    )
    return record
