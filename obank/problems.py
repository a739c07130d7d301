"""RFC 9457 problem details, the error format of every first-party and admin API, in one shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from obank.correlation import current_correlation_id
from obank.log import get_logger
from obank.principal import InvalidPrincipalAssertionError

PROBLEM_MEDIA_TYPE = "application/problem+json"

_log = get_logger("obank.problems")
_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")
# Statuses the router itself answers, with their stable codes (the detail names no part of the request).
_ROUTING_FAILURES: dict[int, tuple[str, str | None]] = {
    404: ("not_found", "no such resource"),
    405: ("method_not_allowed", None),
}


class ProblemError(Exception):
    """A refused request, meaningful to the caller; subclasses fix the status, stable code and title."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class Unauthenticated(ProblemError):
    status = 401
    code = "unauthenticated"
    title = "Authentication required"


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


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def describe_validation(error: RequestValidationError) -> str:
    """Where and why a request failed validation, in one line (`body` left out of locations)."""
    parts = []
    for item in error.errors():
        location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        parts.append(f"{location}: {item.get('msg', 'invalid')}" if location else str(item.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


def http_problem(
    status: int, method: str, headers: Mapping[str, str] | None = None, detail: str | None = None
) -> JSONResponse:
    """An HTTP-level failure (no such path, a method the path does not take) as a problem; 405 keeps `Allow`."""
    code, fixed = _ROUTING_FAILURES.get(status, ("http_error", detail))
    if status == 405:
        fixed = f"{method} is not allowed here"
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    kept = {name: value for name, value in (headers or {}).items() if name.lower() == "allow"}
    return problem_response(status, problem_body(status, code, title, fixed), kept or None)


def allowed_methods(request: Request) -> str:
    """Every method some route of the request's app takes on its path, for `Allow` (RFC 9110 s10.2.1).

    Starlette names only the first route whose path matched, and a path's GET and POST are often two routes
    (in routers FastAPI keeps nested), so each method is asked of the routes as a request of it would be.
    """
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    )


def with_complete_allow(handler: Callable[[Request, Any], Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    """`handler` of HTTP exceptions, its 405s carrying every method the path takes in `Allow`."""

    async def handle(request: Request, exc: Any) -> Response:
        if isinstance(exc, StarletteHTTPException) and exc.status_code == 405:
            exc = StarletteHTTPException(405, exc.detail, {**(exc.headers or {}), "Allow": allowed_methods(request)})
        return await handler(request, exc)

    return handle


async def render_error(request: Request, exc: Exception) -> JSONResponse:
    """Any failure of a problem+json API as one problem document; only the unexpected is logged (as a 500)."""
    if isinstance(exc, InvalidPrincipalAssertionError):
        exc = Unauthenticated("a valid internal principal assertion is required")
    if isinstance(exc, ProblemError):
        return problem_response(exc.status, error_problem(exc), exc.headers)
    if isinstance(exc, RequestValidationError):
        return problem_response(422, problem_body(422, "invalid_request", "Invalid request", describe_validation(exc)))
    if isinstance(exc, StarletteHTTPException):
        headers = {**(exc.headers or {}), "Allow": allowed_methods(request)} if exc.status_code == 405 else exc.headers
        return http_problem(exc.status_code, request.method, headers, str(exc.detail))
    _log.exception("unhandled_error", path=request.url.path)
    return problem_response(500, problem_body(500, "internal_error", "Internal server error", None))


def install_problem_handler(app: FastAPI) -> None:
    """Make every error of `app`, unexpected ones included, leave as `application/problem+json`."""
    for error in (
        ProblemError,
        InvalidPrincipalAssertionError,
        RequestValidationError,
        StarletteHTTPException,
        Exception,
    ):
        app.add_exception_handler(error, render_error)


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
