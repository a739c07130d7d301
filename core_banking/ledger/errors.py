"""Ledger errors."""

from __future__ import annotations

import uuid

from core_banking.errors import DomainError
from core_banking.ledger.models import HoldStatus


class UnbalancedEntryError(RuntimeError):
    """A bug: code tried to book postings that do not sum to zero per currency (the database refuses too)."""


class InvalidAmount(DomainError):
    status = 422
    code = "invalid_amount"
    title = "The amount must be a positive number of minor units"


class CurrencyMismatch(DomainError):
    status = 422
    code = "currency_mismatch"
    title = "The currencies differ (no currency conversion is offered)"


class SameAccount(DomainError):
    status = 422
    code = "same_account"
    title = "Source and destination are the same account"

    def __init__(self, account_id: uuid.UUID) -> None:
        super().__init__(f"account {account_id} cannot pay itself")


class InsufficientFunds(DomainError):
    status = 422
    code = "insufficient_funds"
    title = "Insufficient funds"

    def __init__(self, account_id: uuid.UUID, available_minor: int, requested_minor: int) -> None:
        super().__init__(
            f"account {account_id} has {available_minor} available (minor units); {requested_minor} requested"
        )


class LimitExceeded(DomainError):
    status = 422
    code = "limit_exceeded"
    title = "The outgoing limit would be exceeded"

    def __init__(self, account_id: uuid.UUID, period: str, limit_minor: int, used_minor: int) -> None:
        super().__init__(
            f"account {account_id}: {period} outgoing limit {limit_minor}, already used {used_minor} (minor units)"
        )
        self.period = period


class HoldNotFound(DomainError):
    status = 404
    code = "hold_not_found"
    title = "Hold not found"

    def __init__(self, hold_id: uuid.UUID) -> None:
        super().__init__(f"no hold {hold_id}")


class HoldNotOpen(DomainError):
    status = 409
    code = "hold_not_open"
    title = "The hold is no longer open"

    def __init__(self, hold_id: uuid.UUID, status: HoldStatus) -> None:
        super().__init__(f"hold {hold_id} is {status.value}")


class HoldExpired(DomainError):
    status = 409
    code = "hold_expired"
    title = "The hold has expired"

    def __init__(self, hold_id: uuid.UUID) -> None:
        super().__init__(f"hold {hold_id} expired and can no longer be captured")


class CaptureExceedsHold(DomainError):
    status = 422
    code = "capture_exceeds_hold"
    title = "A capture cannot exceed its hold"

    def __init__(self, hold_id: uuid.UUID, hold_minor: int, requested_minor: int) -> None:
        super().__init__(f"hold {hold_id} is for {hold_minor} minor units; {requested_minor} requested")


class InvalidHoldExpiry(DomainError):
    status = 422
    code = "invalid_hold_expiry"
    title = "A hold must expire in the future"


class EntryNotFound(DomainError):
    status = 404
    code = "entry_not_found"
    title = "Journal entry not found"

    def __init__(self, entry_id: uuid.UUID) -> None:
        super().__init__(f"no journal entry {entry_id}")


class EntryAlreadyReversed(DomainError):
    status = 409
    code = "entry_already_reversed"
    title = "The entry has already been reversed"

    def __init__(self, entry_id: uuid.UUID) -> None:
        super().__init__(f"journal entry {entry_id} has already been reversed")


class EntryNotReversible(DomainError):
    status = 422
    code = "entry_not_reversible"
    title = "A reversal cannot itself be reversed"

    def __init__(self, entry_id: uuid.UUID) -> None:
        super().__init__(f"journal entry {entry_id} is a reversal; book a new entry instead")
