"""RFC 9457 problem details, the error format of every first-party and admin API, in one shape."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from obank.correlation import current_correlation_id

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemError(Exception):
    """A refused request, meaningful to the caller; subclasses fix the status, stable code and title."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Problem(BaseModel):
    """RFC 9457 problem details with our stable machine `code` and the request's correlation id."""

    type: str
    title: str
    status: int
    detail: str | None = None
    code: str
    correlation_id: str


def problem_body(
    status: int, code: str, title: str, detail: str | None, correlation_id: str | None = None
) -> dict[str, Any]:
    """The problem document for one error, stamped with the correlation id (the current one by default)."""
    return Problem(
        type=f"urn:obank:problem:{code}",
        title=title,
        status=status,
        detail=detail,
        code=code,
        correlation_id=correlation_id or current_correlation_id(),
    ).model_dump()


def error_problem(error: ProblemError) -> dict[str, Any]:
    return problem_body(error.status, error.code, error.title, error.detail)


def problem_response(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def describe_validation(error: RequestValidationError) -> str:
    """Where and why a request failed validation, in one line (`body` left out of locations)."""
    parts = []
    for item in error.errors():
        location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        parts.append(f"{location}: {item.get('msg', 'invalid')}" if location else str(item.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


def problem_responses(described: Iterable[tuple[int, str]]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting these statuses as problem details."""
    return {
        status: {
            # `model` registers the schema component; the content entry documents the actual media type.
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            "description": description,
        }
        for status, description in described
    }
