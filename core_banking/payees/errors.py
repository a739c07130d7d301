"""Payee errors."""

from __future__ import annotations

import uuid
from typing import Any

from core_banking.errors import DomainError, FieldError
from core_banking.payees.models import CopResult
from obank.problems import ProblemError, error_problem


class InvalidPayee(FieldError):
    """A payee or a confirmation of payee refused for one of its fields; `field` names it."""

    code = "invalid_payee"
    title = "The payee is invalid"


class PayeeNotFound(DomainError):
    """No active payee of the caller's by that id (another customer's, or a deleted one, reads the same)."""

    status = 404
    code = "payee_not_found"
    title = "Payee not found"

    def __init__(self, payee_id: uuid.UUID | str) -> None:
        super().__init__(f"no payee {payee_id}")


class PayeeExists(DomainError):
    status = 409
    code = "payee_exists"
    title = "The customer already has this payee"


class ConfirmationOfPayeeRequired(ProblemError):
    """The name check did not match and the customer has not said they go on despite it.

    A ProblemError, not a DomainError: an idempotent request does not keep it as its key's answer (it names
    the account holder, and the retry that confirms may use the same key).
    """

    status = 409
    code = "confirmation_of_payee"
    title = "The payee's name does not match the account: confirm to go on"

    def __init__(self, result: CopResult, reason: str | None, actual_name: str | None) -> None:
        super().__init__(
            f"confirmation of payee answered {result.value}; "
            f'send "confirmed_despite": "{result.value}" to add the payee anyway'
        )
        self.result = result
        self.reason = reason
        self.actual_name = actual_name

    def problem(self) -> dict[str, Any]:
        """The problem document with its extension members: the result, its reason and, for a close match,
        the account holder's name (RFC 9457 s3.2)."""
        body = {**error_problem(self), "result": self.result.value, "reason": self.reason}
        if self.result is CopResult.CLOSE_MATCH:
            body["actual_name"] = self.actual_name
        return body
