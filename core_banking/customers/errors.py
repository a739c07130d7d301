"""Customer errors."""

from __future__ import annotations

import uuid

from core_banking.errors import DomainError


class CustomerNotFound(DomainError):
    status = 404
    code = "customer_not_found"
    title = "Customer not found"

    def __init__(self, customer_id: uuid.UUID) -> None:
        super().__init__(f"no customer {customer_id}")


class CustomerEmailTaken(DomainError):
    status = 409
    code = "customer_email_taken"
    title = "A customer with this email already exists"

    def __init__(self) -> None:
        super().__init__("the email address belongs to another customer")


class CustomerNotVerified(DomainError):
    status = 409
    code = "kyc_not_verified"
    title = "The customer has not passed KYC"

    def __init__(self, customer_id: uuid.UUID) -> None:
        super().__init__(f"customer {customer_id} is not KYC-verified")
