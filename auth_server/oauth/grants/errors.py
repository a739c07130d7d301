"""Errors of the consents API, every one rendered as RFC 9457 problem details by the API's route class."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from obank.log import get_logger
from obank.principal import InvalidPrincipalAssertionError
from obank.problems import (
    ProblemError,
    describe_validation,
    error_problem,
    problem_body,
    problem_response,
    problem_responses,
)

_log = get_logger("auth_server.oauth.grants.errors")


class ConsentsError(ProblemError):
    """A refused consents API request; subclasses fix the status, code and title."""


class NotACustomer(ConsentsError):
    status = 403
    code = "forbidden"
    title = "Only customers have consents to manage"


class ConsentNotFound(ConsentsError):
    status = 404
    code = "consent_not_found"
    title = "There is no such consent on your account"


PROBLEM_RESPONSES = problem_responses(
    (
        (401, "No valid principal assertion"),
        (403, "The principal is not a customer"),
        (404, "No such consent of this customer"),
        (422, "Invalid request"),
    )
)


def problem_for(request: Request, exc: Exception) -> JSONResponse:
    """The problem document for any error on a consents route (the OAuth app renders others as RFC 6749 JSON)."""
    if isinstance(exc, ConsentsError):
        return problem_response(exc.status, error_problem(exc))
    if isinstance(exc, InvalidPrincipalAssertionError):
        body = problem_body(401, "unauthenticated", "Authentication required", "no valid principal assertion")
        return problem_response(401, body)
    if isinstance(exc, RequestValidationError):
        return problem_response(422, problem_body(422, "invalid_request", "Invalid request", describe_validation(exc)))
    _log.exception("unhandled_error", path=request.url.path)
    return problem_response(500, problem_body(500, "internal_error", "Internal server error", None))


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
