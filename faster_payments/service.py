"""The scheme's rules: clearing the bank's payments, answering its status requests, originating payments to it.

Every function takes the caller's session and only flushes; the caller (the consumer's `apply_once`, a CLI
command, a test) commits. Messages to the bank leave through the faults: possibly lost, late or twice.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from faster_payments import registry, repository
from faster_payments.messages import (
    CreditTransfer,
    Message,
    Party,
    Reason,
    StatusReport,
    StatusRequest,
    TransactionStatus,
    encode,
)
from faster_payments.models import AccountStatus, Direction
from faster_payments.schemas import Faults, TransactionRecord
from obank.correlation import current_correlation_id
from obank.log import get_logger
from obank.outbox.record import record_event
from obank.topics import FPS_TO_BANK_TOPIC

SCHEME_CURRENCY = "GBP"
LONDON = ZoneInfo("Europe/London")
FINAL_STATUSES = frozenset({TransactionStatus.ACSC, TransactionStatus.RJCT})
_system_random = random.SystemRandom()
_log = get_logger("faster_payments.service")


class FaultsOutOfRange(ValueError):
    """Fault settings the scheme cannot apply: a rate outside 0..1, a negative or inverted delay, no window."""


class UnknownDebtorAccount(ValueError):
    """An inbound payment must come from an open account in the scheme's directory."""


def new_message_id() -> str:
    """A scheme-issued id: 32 hex digits, within ISO's Max35Text."""
    return uuid.uuid4().hex


# --- faults ---------------------------------------------------------------------------------------------------


async def get_faults(session: AsyncSession) -> Faults:
    row = await repository.get_faults(session)
    return Faults() if row is None else Faults.from_model(row)


async def set_faults(
    session: AsyncSession,
    *,
    delay_min_ms: int | None = None,
    delay_max_ms: int | None = None,
    drop_rate: float | None = None,
    duplicate_rate: float | None = None,
    timeout_s: float | None = None,
    now: datetime | None = None,
) -> Faults:
    """Change the settings given (the others stay); out-of-range values raise `FaultsOutOfRange`."""
    current = await get_faults(session)
    changes: dict[str, Any] = {
        name: value
        for name, value in (
            ("delay_min_ms", delay_min_ms),
            ("delay_max_ms", delay_max_ms),
            ("drop_rate", drop_rate),
            ("duplicate_rate", duplicate_rate),
            ("timeout_s", timeout_s),
        )
        if value is not None
    }
    faults = replace(current, **changes)
    _check_faults(faults)
    values = {
        "delay_min_ms": faults.delay_min_ms,
        "delay_max_ms": faults.delay_max_ms,
        "drop_rate": float(faults.drop_rate),
        "duplicate_rate": float(faults.duplicate_rate),
        "timeout_s": float(faults.timeout_s),
    }
    await repository.save_faults(session, values, now or datetime.now(UTC))
    return faults


def _check_faults(faults: Faults) -> None:
    for name in ("delay_min_ms", "delay_max_ms"):
        value = getattr(faults, name)
        if type(value) is not int or value < 0:
            raise FaultsOutOfRange(f"{name} must be a whole number of milliseconds, at least 0")
    if faults.delay_min_ms > faults.delay_max_ms:
        raise FaultsOutOfRange("delay_min_ms may not exceed delay_max_ms")
    for name in ("drop_rate", "duplicate_rate"):
        value = getattr(faults, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            raise FaultsOutOfRange(f"{name} must be between 0 and 1")
    timeout = faults.timeout_s
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0:
        raise FaultsOutOfRange("timeout_s must be a positive number of seconds")


# --- clearing: messages from the bank --------------------------------------------------------------------------


async def clear_credit_transfer(
    session: AsyncSession, transfer: CreditTransfer, *, now: datetime | None = None, rng: random.Random | None = None
) -> StatusReport:
    """Clear a pacs.008 from the bank once per TxId and answer it (a repeat is answered with the first outcome)."""
    now = now or datetime.now(UTC)
    faults = await get_faults(session)
    status, reason = await _decide(session, transfer, faults, now)
    recorded = await repository.insert_transaction(
        session,
        {
            **_transfer_columns(transfer, Direction.FROM_BANK),
            "status": status,
            "reason": None if reason is None else str(reason),
            "received_at": now,
            "answered_at": now,
        },
    )
    if not recorded:
        existing = await repository.get_transaction(session, transfer.transaction_id)
        assert existing is not None, "a TxId that conflicted is recorded"
        if existing.direction is Direction.FROM_BANK:
            # A duplicate submission is answered as the first was; it never clears twice.
            status, reason = existing.status, existing.reason
        else:
            # The bank reused the TxId of a payment the scheme sent it: refused, nothing recorded.
            status, reason = TransactionStatus.RJCT, Reason.DUPL
        _log.info("duplicate_credit_transfer", status=status.value)
    report = StatusReport(
        message_id=new_message_id(),
        original_message_id=transfer.message_id,
        original_transaction_id=transfer.transaction_id,
        original_end_to_end_id=transfer.end_to_end_id,
        status=status,
        reason=None if reason is None else str(reason),
        created_at=now,
    )
    await _deliver(session, report, transfer.transaction_id, faults, now, rng or _system_random)
    return report


async def _decide(
    session: AsyncSession, transfer: CreditTransfer, faults: Faults, now: datetime
) -> tuple[TransactionStatus, str | None]:
    """The scheme's answer to a new payment: too late, not in sterling, no such account, closed, wrong name, or paid."""
    if now - transfer.created_at > timedelta(seconds=faults.timeout_s):
        return TransactionStatus.RJCT, Reason.AB05
    if transfer.currency != SCHEME_CURRENCY:
        return TransactionStatus.RJCT, Reason.AM03
    account = await registry.find_account(session, transfer.creditor.sort_code, transfer.creditor.account_number)
    if account is None:
        return TransactionStatus.RJCT, Reason.AC01
    if account.status is AccountStatus.CLOSED:
        return TransactionStatus.RJCT, Reason.AC04
    if not registry.names_match(transfer.creditor.name, account.holder_name):
        return TransactionStatus.RJCT, Reason.BE01
    return TransactionStatus.ACSC, None


async def record_bank_status(session: AsyncSession, report: StatusReport, *, now: datetime | None = None) -> bool:
    """The bank's answer to a payment the scheme sent it; True when it changed the status (a final one holds)."""
    now = now or datetime.now(UTC)
    transaction = await repository.get_transaction(session, report.original_transaction_id, for_update=True)
    if transaction is None or transaction.direction is not Direction.TO_BANK:
        _log.warning("status_report_for_unknown_transaction")
        return False
    if transaction.status in FINAL_STATUSES or (
        transaction.status is report.status and transaction.reason == report.reason
    ):
        return False
    await repository.set_status(session, transaction.tx_id, report.status, report.reason, now)
    return True


async def answer_status_request(
    session: AsyncSession, request: StatusRequest, *, now: datetime | None = None, rng: random.Random | None = None
) -> StatusReport:
    """Answer a pacs.028 with the recorded status; a TxId never seen is recorded rejected (AB05) and so answered.

    Recording it keeps both sides consistent: a pacs.008 with that TxId arriving later is a duplicate of a
    rejected payment and is refused, never cleared after the bank was told it was not.
    """
    now = now or datetime.now(UTC)
    faults = await get_faults(session)
    await repository.insert_transaction(
        session,
        {
            "tx_id": request.original_transaction_id,
            "direction": Direction.FROM_BANK,
            "message_id": request.original_message_id,
            "end_to_end_id": request.original_end_to_end_id,
            "status": TransactionStatus.RJCT,
            "reason": Reason.AB05.value,
            "received_at": now,
            "answered_at": now,
        },
    )
    transaction = await repository.get_transaction(session, request.original_transaction_id)
    assert transaction is not None, "recorded above or before"
    report = StatusReport(
        message_id=new_message_id(),
        original_message_id=transaction.message_id,
        original_transaction_id=transaction.tx_id,
        original_end_to_end_id=transaction.end_to_end_id,
        status=transaction.status,
        reason=transaction.reason,
        created_at=now,
    )
    await _deliver(session, report, transaction.tx_id, faults, now, rng or _system_random)
    return report


# --- payments to the bank --------------------------------------------------------------------------------------


async def send_inbound(
    session: AsyncSession,
    *,
    debtor: Party,
    creditor: Party,
    amount_minor: int,
    currency: str = SCHEME_CURRENCY,
    reference: str | None = None,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> CreditTransfer:
    """Originate a payment from another bank's customer (`debtor`, an open directory account) to the bank's.

    It is recorded pending until the bank answers with a pacs.002. Faults apply as to any message to the bank
    (late, or twice with the same TxId), except loss: the bank could never ask after a payment it never saw.
    """
    now = now or datetime.now(UTC)
    account = await registry.find_account(session, debtor.sort_code, debtor.account_number)
    if account is None or account.status is not AccountStatus.OPEN:
        raise UnknownDebtorAccount("the debtor must be an open account in the scheme's directory")
    if currency != SCHEME_CURRENCY:
        raise ValueError(f"Faster Payments settle in {SCHEME_CURRENCY} only")
    transfer = CreditTransfer(
        message_id=new_message_id(),
        transaction_id=new_message_id(),
        end_to_end_id=new_message_id(),
        instruction_id=new_message_id(),
        amount_minor=amount_minor,
        currency=currency,
        debtor=debtor,
        creditor=creditor,
        reference=reference,
        created_at=now,
        settlement_date=now.astimezone(LONDON).date(),
    )
    await repository.insert_transaction(
        session,
        {
            **_transfer_columns(transfer, Direction.TO_BANK),
            "status": TransactionStatus.PDNG,
            "reason": None,
            "received_at": now,
            "answered_at": None,
        },
    )
    faults = await get_faults(session)
    await _deliver(session, transfer, transfer.transaction_id, faults, now, rng or _system_random, may_drop=False)
    return transfer


async def list_transactions(session: AsyncSession, *, limit: int = 50) -> list[TransactionRecord]:
    """The most recently received transactions first."""
    return [TransactionRecord.from_model(row) for row in await repository.list_transactions(session, limit)]


async def get_transaction(session: AsyncSession, tx_id: str) -> TransactionRecord | None:
    row = await repository.get_transaction(session, tx_id)
    return None if row is None else TransactionRecord.from_model(row)


# --- delivery --------------------------------------------------------------------------------------------------


async def _deliver(
    session: AsyncSession,
    message: Message,
    key: str,
    faults: Faults,
    now: datetime,
    rng: random.Random,
    *,
    may_drop: bool = True,
) -> None:
    """Send a message to the bank through the faults: lost, or once or twice, each copy after its own delay.

    A pacs.008 without delay goes straight to the outbox; everything else waits in `scheduled_messages` for
    the dispatcher, so answers to the bank are always published by it, after their delay.
    """
    if may_drop and rng.random() < faults.drop_rate:
        _log.info("scheme_message_dropped")
        return
    copies = 2 if rng.random() < faults.duplicate_rate else 1
    definition, xml = encode(message)
    scheduled = []
    for _ in range(copies):
        delay_ms = rng.uniform(faults.delay_min_ms, faults.delay_max_ms) if faults.delay_max_ms else 0.0
        if isinstance(message, CreditTransfer) and delay_ms == 0:
            await record_event(session, topic=FPS_TO_BANK_TOPIC, event_type=definition, key=key, payload={"xml": xml})
            continue
        scheduled.append(
            {
                "deliver_at": now + timedelta(milliseconds=delay_ms),
                "definition": definition,
                "xml": xml,
                "key": key,
                "correlation_id": current_correlation_id(),
            }
        )
    await repository.schedule_messages(session, scheduled)


def _transfer_columns(transfer: CreditTransfer, direction: Direction) -> dict[str, Any]:
    return {
        "tx_id": transfer.transaction_id,
        "direction": direction,
        "message_id": transfer.message_id,
        "end_to_end_id": transfer.end_to_end_id,
        "instruction_id": transfer.instruction_id,
        "amount_minor": transfer.amount_minor,
        "currency": transfer.currency,
        "debtor_name": transfer.debtor.name,
        "debtor_sort_code": transfer.debtor.sort_code,
        "debtor_account_number": transfer.debtor.account_number,
        "creditor_name": transfer.creditor.name,
        "creditor_sort_code": transfer.creditor.sort_code,
        "creditor_account_number": transfer.creditor.account_number,
        "reference": transfer.reference,
        "created_at": transfer.created_at,
        "settlement_date": transfer.settlement_date,
    }
