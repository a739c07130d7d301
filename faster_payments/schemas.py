"""The scheme's records as its callers see them: typed, frozen, free of the session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from faster_payments.messages import Party, TransactionStatus
from faster_payments.models import AccountStatus, Direction, FaultSettings, SchemeAccount, SchemeTransaction


@dataclass(frozen=True, slots=True, kw_only=True)
class Faults:
    """What the scheme does to the messages it delivers, and how long it waits for a payment."""

    delay_min_ms: int = 0
    delay_max_ms: int = 0
    drop_rate: float = 0.0  # share of answers to the bank lost (the bank recovers with a pacs.028)
    duplicate_rate: float = 0.0  # share of messages to the bank delivered twice
    timeout_s: float = 10.0  # a pacs.008 older than this (by its CreDtTm) is rejected AB05

    @classmethod
    def from_model(cls, row: FaultSettings) -> Faults:
        return cls(
            delay_min_ms=row.delay_min_ms,
            delay_max_ms=row.delay_max_ms,
            drop_rate=row.drop_rate,
            duplicate_rate=row.duplicate_rate,
            timeout_s=row.timeout_s,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistryAccount:
    """An account at another participant bank."""

    bank_name: str
    sort_code: str
    account_number: str
    holder_name: str
    status: AccountStatus

    @classmethod
    def from_model(cls, row: SchemeAccount) -> RegistryAccount:
        return cls(
            bank_name=row.bank_name,
            sort_code=row.sort_code,
            account_number=row.account_number,
            holder_name=row.holder_name,
            status=row.status,
        )

    @property
    def party(self) -> Party:
        return Party(name=self.holder_name, sort_code=self.sort_code, account_number=self.account_number)


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionRecord:
    """One transaction the scheme has seen and the status it stands at."""

    tx_id: str
    direction: Direction
    message_id: str
    end_to_end_id: str
    instruction_id: str | None
    amount_minor: int | None
    currency: str | None
    debtor: Party | None
    creditor: Party | None
    reference: str | None
    created_at: datetime | None
    settlement_date: date | None
    status: TransactionStatus
    reason: str | None
    received_at: datetime
    answered_at: datetime | None

    @classmethod
    def from_model(cls, row: SchemeTransaction) -> TransactionRecord:
        debtor = creditor = None
        if row.debtor_name and row.debtor_sort_code and row.debtor_account_number:
            debtor = Party(
                name=row.debtor_name, sort_code=row.debtor_sort_code, account_number=row.debtor_account_number
            )
        if row.creditor_name and row.creditor_sort_code and row.creditor_account_number:
            creditor = Party(
                name=row.creditor_name, sort_code=row.creditor_sort_code, account_number=row.creditor_account_number
            )
        return cls(
            tx_id=row.tx_id,
            direction=row.direction,
            message_id=row.message_id,
            end_to_end_id=row.end_to_end_id,
            instruction_id=row.instruction_id,
            amount_minor=row.amount_minor,
            currency=row.currency,
            debtor=debtor,
            creditor=creditor,
            reference=row.reference,
            created_at=row.created_at,
            settlement_date=row.settlement_date,
            status=row.status,
            reason=row.reason,
            received_at=row.received_at,
            answered_at=row.answered_at,
        )
