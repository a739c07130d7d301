"""Webhook errors: each carries its HTTP status and stable code (`obank.problems` renders them)."""

from __future__ import annotations

import uuid

from obank.problems import ProblemError


class InvalidEndpoint(ProblemError):
    """An endpoint refused for one of its fields; the detail starts with the field's name."""

    status = 422
    code = "invalid_webhook_endpoint"
    title = "The webhook endpoint is invalid"

    def __init__(self, detail: str, *, field: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field


class EndpointNotFound(ProblemError):
    status = 404
    code = "webhook_endpoint_not_found"
    title = "Webhook endpoint not found"

    def __init__(self, endpoint_id: uuid.UUID | str) -> None:
        super().__init__(f"no webhook endpoint {endpoint_id}")


class MessageNotFound(ProblemError):
    status = 404
    code = "webhook_message_not_found"
    title = "Webhook message not found"

    def __init__(self, message_id: uuid.UUID | str) -> None:
        super().__init__(f"no webhook message {message_id}")


class MessageNotReplayable(ProblemError):
    """Only a dead-lettered message is replayed: a pending one is still being tried, a delivered one arrived."""

    status = 409
    code = "webhook_message_not_replayable"
    title = "Only a dead-lettered message can be replayed"


class ForbiddenDestination(OSError):
    """A receiver's address is one webhooks may not reach (private, loopback, link-local, multicast, reserved).

    An OSError, as a failed resolution is: the HTTP client reports it as the connection's failure."""
