"""Errors of a customer's grants: the page's, rendered as pages, and the consents API's, as RFC 9457 problem details."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from auth_server.errors import AuthError
from obank.problems import ProblemError, problem_responses, render_error


class GrantNotFound(AuthError):
    """The grants page names a grant the customer does not hold."""

    status = 404
    code = "grant_not_found"
    title = "There is no such permission on your account."


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


class ProblemRoute(APIRoute):
    """A route whose failures, its dependencies' included, leave as problem details."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # every failure of this API family is one problem document
                return await render_error(request, exc)

        return handle
