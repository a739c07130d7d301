"""Idempotency errors."""

from __future__ import annotations

from core_banking.errors import DomainError


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    title = "The idempotency key was used for a different request"

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was first used with a different request; use a new key")
