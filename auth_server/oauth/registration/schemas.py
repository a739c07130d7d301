"""Shapes of dynamic registration: the client information response (RFC 7591 s3.2.1) and new initial tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from auth_server.oauth.clients.schemas import ClientRecord


class InitialAccessTokenView(BaseModel):
    """A new initial access token: shown once, stored only as a keyed hash."""

    initial_access_token: str
    expires_at: datetime


def client_information(
    record: ClientRecord, registration_client_uri: str, registration_access_token: str | None
) -> dict[str, Any]:
    """The registered metadata, where to manage it, and the registration access token when just issued (RFC 7592 s3)."""
    body = record.metadata()
    body["registration_client_uri"] = registration_client_uri
    if registration_access_token is not None:
        body["registration_access_token"] = registration_access_token
    return body
