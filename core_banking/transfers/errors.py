"""Transfer errors."""

from __future__ import annotations

import uuid

from core_banking.errors import DomainError


class TransferNotFound(DomainError):
    status = 404
    code = "transfer_not_found"
    title = "Transfer not found"

    def __init__(self, transfer_id: uuid.UUID) -> None:
        super().__init__(f"no transfer {transfer_id}")


class TransferStoppedByFraudChecks(DomainError):
    """The fraud decision was BLOCK: told in general terms, as the customer is (never which rule fired)."""

    status = 403
    code = "transfer_stopped_by_fraud_checks"
    title = "The transfer was stopped by the bank's fraud checks"

    def __init__(self) -> None:
        super().__init__("the transfer was stopped by the bank's fraud checks; contact the bank if you made it")
