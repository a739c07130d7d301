"""Errors of the consents API, every one rendered as RFC 9457 problem details by the API's route class."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from obank.correlation import current_correlation_id
from obank.log import get_logger
from obank.principal import InvalidPrincipalAssertionError

PROBLEM_MEDIA_TYPE = "application/problem+json"

_log = get_logger("auth_server.oauth.grants.errors")


class ConsentsError(Exception):
    """A refused consents API request; subclasses fix the status, code and title."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotACustomer(ConsentsError):
    status = 403
    code = "forbidden"
    title = "Only customers have consents to manage"


class ConsentNotFound(ConsentsError):
    status = 404
    code = "consent_not_found"
    title = "There is no such consent on your account"


class Problem(BaseModel):
    """RFC 9457 problem details with a stable machine `code` and the request's correlation id."""

    type: str
    title: str
    status: int
    detail: str | None = None
    code: str
    correlation_id: str


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": Problem,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        "description": description,
    }
    for status, description in (
        (401, "No valid principal assertion"),
        (403, "The principal is not a customer"),
        (404, "No such consent of this customer"),
        (422, "Invalid request"),
    )
}


def problem_response(status: int, code: str, title: str, detail: str | None) -> JSONResponse:
    body = Problem(
        type=f"urn:obank:problem:{code}",
        title=title,
        status=status,
        detail=detail,
        code=code,
        correlation_id=current_correlation_id(),
    )
    return JSONResponse(body.model_dump(), status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def problem_for(request: Request, exc: Exception) -> JSONResponse:
    """The problem document for any error on a consents route (the OAuth app renders others as RFC 6749 JSON)."""
    if isinstance(exc, ConsentsError):
        return problem_response(exc.status, exc.code, exc.title, exc.detail)
    if isinstance(exc, InvalidPrincipalAssertionError):
        return problem_response(401, "unauthenticated", "Authentication required", "no valid principal assertion")
    if isinstance(exc, RequestValidationError):
        detail = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"
            for error in exc.errors()
        )
        return problem_response(422, "invalid_request", "Invalid request", detail or None)
    _log.exception("unhandled_error", path=request.url.path)
    return problem_response(500, "internal_error", "Internal server error", None)


class ProblemRoute(APIRoute):
    """A route whose failures, its dependencies' included, leave as problem details."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # every failure of this API family is one problem document
                return problem_for(request, exc)

        return handle
