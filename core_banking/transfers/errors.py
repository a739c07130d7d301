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
