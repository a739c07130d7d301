"""Domain errors carry their HTTP status and stable code; one handler renders them as RFC 9457 problems."""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from obank.correlation import current_correlation_id
from obank.log import get_logger
from obank.principal import InvalidPrincipalAssertionError

PROBLEM_MEDIA_TYPE = "application/problem+json"
_log = get_logger("core_banking.errors")


class DomainError(Exception):
    """A refused operation, meaningful to the caller; subclasses fix the status, code and title."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


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


class Problem(BaseModel):
    """RFC 9457 problem details with our stable machine `code` and the request's correlation id."""

    type: str
    title: str
    status: int
    detail: str | None = None
    code: str
    correlation_id: str


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        # `model` registers the schema component; the content entry documents the actual media type.
        "model": Problem,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        "description": description,
    }
    for status, description in (
        (401, "No valid principal assertion"),
        (403, "The principal may not do this"),
        (404, "Unknown resource"),
        (409, "Conflicts with the resource's state"),
        (422, "Invalid request or refused by a business rule"),
    )
}


def problem_body(status: int, code: str, title: str, detail: str | None) -> dict[str, Any]:
    """The problem document for one error, stamped with the current correlation id."""
    return Problem(
        type=f"urn:obank:problem:{code}",
        title=title,
        status=status,
        detail=detail,
        code=code,
        correlation_id=current_correlation_id(),
    ).model_dump()


def domain_problem(error: DomainError) -> dict[str, Any]:
    return problem_body(error.status, error.code, error.title, error.detail)


def problem_response(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def _describe_validation(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        parts.append(f"{location}: {item.get('msg', 'invalid')}" if location else str(item.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    """The one handler of the core_banking app: every error leaves as `application/problem+json`."""
    if isinstance(exc, DomainError):
        return problem_response(exc.status, domain_problem(exc))
    if isinstance(exc, InvalidPrincipalAssertionError):
        error = Unauthenticated("a valid internal principal assertion is required")
        return problem_response(error.status, domain_problem(error))
    if isinstance(exc, RequestValidationError):
        body = problem_body(422, "invalid_request", "Invalid request", _describe_validation(exc))
        return problem_response(422, body)
    if isinstance(exc, StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem_response(exc.status_code, problem_body(exc.status_code, code, str(exc.detail), None))
    _log.exception("unhandled_error", path=request.url.path)
    return problem_response(500, problem_body(500, "internal_error", "Internal server error", None))
