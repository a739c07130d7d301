"""The client registry's refusals."""

from __future__ import annotations

from auth_server.oauth.errors import NotFound


class ClientNotFound(NotFound):
    def __init__(self, client_id: str) -> None:
        super().__init__(f"no client {client_id}")


class MalformedClientMetadata(ValueError):
    """A metadata value is not of the form RFC 7591 s2 gives it."""
