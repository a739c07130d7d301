"""Investigation errors: each carries its HTTP status and stable code (`obank.problems` renders them)."""

from __future__ import annotations

import uuid

from obank.problems import ProblemError, problem_responses

# Every investigation route's problem responses (a route documents more where it has them).
PROBLEM_RESPONSES = problem_responses(
    (
        (401, "No valid principal assertion"),
        (403, "The principal is not staff, or lacks the role"),
        (422, "Invalid request, naming the field"),
    )
)


class InvestigationError(ProblemError):
    """A refused investigation request, meaningful to the caller."""


class TimelineSubjectInvalid(InvestigationError):
    """The timeline follows exactly one subject: a correlation id, a customer, an account or a payment."""

    status = 422
    code = "invalid_request"
    title = "Invalid request"


class RecordNotFound(InvestigationError):
    status = 404
    code = "audit_record_not_found"
    title = "Audit record not found"

    def __init__(self, record_id: uuid.UUID) -> None:
        super().__init__(f"no audit record {record_id}")


class RecordUnreadable(InvestigationError):
    """The record's key is not in this deployment's key ring, or its ciphertext was altered (`obank audit verify`)."""

    status = 409
    code = "audit_record_unreadable"
    title = "The audit record cannot be decrypted"

    def __init__(self, record_id: uuid.UUID) -> None:
        super().__init__(f"audit record {record_id} cannot be decrypted with this deployment's keys")


class ReasonsForAuditors(InvestigationError):
    """Other staff members' reasons for decrypting are read by auditors only, through any route."""

    status = 403
    code = "insufficient_role"
    title = "The staff member lacks the role this operation needs"
