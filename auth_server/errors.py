"""Domain errors of auth_server: each carries its HTTP status, a stable code and a message for people."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.routing import APIRoute

from obank.problems import problem_body, problem_response, render_error


class AuthError(Exception):
    """A refused operation; subclasses fix the status, code and the sentence a person reads."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Something is not right with this request"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class ProblemRoute(APIRoute):
    """A route of a problem+json API (RFC 9457): every failure, its dependencies' included, leaves as problem
    details, and auth_server's own domain errors keep their status and code."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except AuthError as refused:
                body = problem_body(refused.status, refused.code, refused.title, refused.detail)
                return problem_response(refused.status, body)
            except Exception as exc:  # every failure of a problem+json API is one problem document
                return await render_error(request, exc)

        return handle
