"""Account errors."""

from __future__ import annotations

import uuid

from core_banking.accounts.models import AccountStatus
from core_banking.errors import DomainError


class AccountNotFound(DomainError):
    status = 404
    code = "account_not_found"
    title = "Account not found"

    def __init__(self, account_id: uuid.UUID) -> None:
        super().__init__(f"no account {account_id}")


class AccountFrozen(DomainError):
    status = 409
    code = "account_frozen"
    title = "The account is frozen"

    def __init__(self, account_id: uuid.UUID) -> None:
        super().__init__(f"account {account_id} is frozen and accepts no debits")


class AccountClosed(DomainError):
    status = 409
    code = "account_closed"
    title = "The account is closed"

    def __init__(self, account_id: uuid.UUID) -> None:
        super().__init__(f"account {account_id} is closed")


class InvalidStatusTransition(DomainError):
    status = 409
    code = "invalid_status_transition"
    title = "The account cannot move to that status"

    def __init__(self, account_id: uuid.UUID, current: AccountStatus, target: AccountStatus) -> None:
        super().__init__(f"account {account_id} is {current.value}; it cannot become {target.value}")


class AccountNotEmpty(DomainError):
    status = 409
    code = "account_not_empty"
    title = "The account still holds money or open holds"

    def __init__(self, account_id: uuid.UUID, balance_minor: int, held_minor: int) -> None:
        super().__init__(
            f"account {account_id} has balance {balance_minor} and {held_minor} on hold (minor units); both must be 0"
        )


class NotACustomerAccount(DomainError):
    status = 422
    code = "not_a_customer_account"
    title = "The operation applies to customer accounts only"

    def __init__(self, account_id: uuid.UUID) -> None:
        super().__init__(f"account {account_id} is one of the bank's own accounts")


class InvalidLimits(DomainError):
    status = 422
    code = "invalid_limits"
    title = "The limits are inconsistent"


class OverdraftInUse(DomainError):
    status = 409
    code = "overdraft_in_use"
    title = "The overdraft is in use beyond the new limit"

    def __init__(self, account_id: uuid.UUID, needed_minor: int) -> None:
        super().__init__(f"account {account_id} needs an overdraft of at least {needed_minor} minor units")


class InvalidInterestRate(DomainError):
    status = 422
    code = "invalid_interest_rate"
    title = "Only savings accounts earn interest"

    def __init__(self) -> None:
        super().__init__("interest_rate_bps must be 0 unless the account is a savings account")
