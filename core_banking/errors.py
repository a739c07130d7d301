"""Domain errors carry their HTTP status and stable code; one handler renders them as RFC 9457 problems."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from obank.log import get_logger
from obank.principal import InvalidPrincipalAssertionError
from obank.problems import (
    PROBLEM_MEDIA_TYPE,
    ProblemError,
    describe_validation,
    error_problem,
    problem_body,
    problem_response,
    problem_responses,
)

__all__ = ["PROBLEM_MEDIA_TYPE", "PROBLEM_RESPONSES", "DomainError", "handle_error"]

_log = get_logger("core_banking.errors")


class DomainError(ProblemError):
    """A refused operation, meaningful to the caller; subclasses fix the status, code and title."""


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class InsufficientRole(DomainError):
    status = 403
    code = "insufficient_role"
    title = "The staff member lacks the role this operation needs"


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


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    """The one handler of the core_banking app: every error leaves as `application/problem+json`."""
    if isinstance(exc, DomainError):
        return problem_response(exc.status, error_problem(exc))
    if isinstance(exc, InvalidPrincipalAssertionError):
        error = Unauthenticated("a valid internal principal assertion is required")
        return problem_response(error.status, error_problem(error))
    if isinstance(exc, RequestValidationError):
        body = problem_body(422, "invalid_request", "Invalid request", describe_validation(exc))
        return problem_response(422, body)
    if isinstance(exc, StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem_response(exc.status_code, problem_body(exc.status_code, code, str(exc.detail), None))
    _log.exception("unhandled_error", path=request.url.path)
    return problem_response(500, problem_body(500, "internal_error", "Internal server error", None))
