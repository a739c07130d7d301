"""The fraud app's errors: each carries its HTTP status and stable code, rendered as RFC 9457 problem details."""

from __future__ import annotations

from fastapi import FastAPI

from obank.problems import ProblemError, install_problem_handler, problem_responses

__all__ = ["PROBLEM_RESPONSES", "FieldError", "FraudError", "install_error_handler"]


class FraudError(ProblemError):
    """A refused fraud operation, meaningful to the caller; subclasses fix the status, code and title."""


class FieldError(FraudError):
    """A request refused for one of its fields; the detail reads `<field>: <reason>`."""

    status = 422
    code = "invalid_request"
    title = "Invalid request"

    def __init__(self, detail: str, *, field: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field


# Every fraud route's problem responses (a route documents more where it has them).
PROBLEM_RESPONSES = problem_responses(
    (
        (401, "No valid principal assertion"),
        (403, "The principal is not a fraud analyst"),
        (422, "Invalid request, naming the field"),
    )
)


def install_error_handler(app: FastAPI) -> None:
    """Every failure of the fraud app, unexpected ones included, leaves as `application/problem+json`."""
    install_problem_handler(app)
