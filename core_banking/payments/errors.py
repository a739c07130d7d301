"""Payment errors."""

from __future__ import annotations

import uuid

from core_banking.errors import DomainError, FieldError


class InvalidPayment(FieldError):
    """A payment refused for one of its fields before anything is held; `field` names it."""

    code = "invalid_payment"
    title = "The payment is invalid"


class PaymentNotFound(DomainError):
    status = 404
    code = "payment_not_found"
    title = "Payment not found"

    def __init__(self, payment_id: uuid.UUID | str) -> None:
        super().__init__(f"no payment {payment_id}")


class PaymentNotHeld(DomainError):
    """Confirming or cancelling a payment that is not (or no longer) waiting for its customer's confirmation."""

    status = 409
    code = "payment_not_held"
    title = "The payment is not waiting for confirmation"
