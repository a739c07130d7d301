"""Domain errors carry their HTTP status and stable code; `obank.problems` renders them as RFC 9457 problems."""

from __future__ import annotations

from typing import Self

from obank.problems import PROBLEM_MEDIA_TYPE, ProblemError, problem_responses

__all__ = ["PROBLEM_MEDIA_TYPE", "PROBLEM_RESPONSES", "DomainError", "FieldError"]


class DomainError(ProblemError):
    """A refused operation, meaningful to the caller; subclasses fix the status, code and title."""


class FieldError(DomainError):
    """A request refused for one of its fields; `field` names it as the caller's request spells it.

    The detail reads `<field>: <reason>`, so `revive` restores the field where the error arrives over HTTP.
    """

    status = 422

    def __init__(self, detail: str, *, field: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field: str | None = field

    @classmethod
    def revive(cls, detail: str) -> Self:
        error = cls.__new__(cls)
        DomainError.__init__(error, detail)
        field, separator, _ = detail.partition(": ")
        error.field = field if separator else None
        return error


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class InsufficientScope(DomainError):
    status = 403
    code = "insufficient_scope"
    title = "The access token lacks the scope this operation needs"


PROBLEM_RESPONSES = problem_responses(
    (
        (401, "No valid principal assertion"),
        (403, "The principal may not do this"),
        (404, "Unknown resource"),
        (409, "Conflicts with the resource's state"),
        (422, "Invalid request or refused by a business rule"),
    )
)


def revive(problem: dict[str, object]) -> DomainError | None:
    """The domain error a problem document was written from (by its stable `code`), or None if unknown.

    An answer stored by idempotency (or sent over internal HTTP) becomes the error it was, field and all.
    """
    code = problem.get("code")
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        error = pending.pop()
        pending.extend(error.__subclasses__())
        if error.__dict__.get("code") == code and error is not DomainError:
            detail = str(problem.get("detail") or error.title)
            revived = getattr(error, "revive", None)
            if revived is not None:
                result: DomainError = revived(detail)
                return result
            raised = error.__new__(error)
            DomainError.__init__(raised, detail)
            return raised
    return None
