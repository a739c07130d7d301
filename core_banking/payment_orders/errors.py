"""Payment order errors."""

from __future__ import annotations

import uuid

from core_banking.errors import DomainError, FieldError


class InvalidPaymentOrder(FieldError):
    """An order refused for one of its fields; `field` names it (Open Banking Initiation paths)."""

    code = "invalid_payment_order"
    title = "The payment order is invalid"


class PaymentOrderNotFound(DomainError):
    status = 404
    code = "payment_order_not_found"
    title = "Payment order not found"

    def __init__(self, order_id: uuid.UUID | str) -> None:
        super().__init__(f"no payment order {order_id}")


class PaymentOrderEnded(DomainError):
    status = 409
    code = "payment_order_ended"
    title = "The payment order has ended"


class PaymentOrderConflict(DomainError):
    """The order exists but cannot take this change (its kind, or who set it up)."""

    status = 409
    code = "payment_order_conflict"
    title = "The payment order cannot be changed so"
