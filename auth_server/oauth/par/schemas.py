"""Shapes of pushed requests: the validated authorization request the authorization endpoint resumes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from auth_server.oauth.par.models import PushedAuthorizationRequest


@dataclass(frozen=True, slots=True)
class PushedRequest:
    """An authorization request as pushed and validated (RFC 9126); what the authorization endpoint acts on."""

    id: uuid.UUID
    client_id: str
    response_type: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    authorization_details: list[dict[str, Any]] | None
    consent_id: str | None
    claims: dict[str, Any] | None
    acr_values: tuple[str, ...]
    prompt: tuple[str, ...]
    max_age: int | None
    login_hint: str | None
    ui_locales: str | None
    created_at: datetime
    expires_at: datetime
    consumed_at: datetime | None = None

    @classmethod
    def from_model(cls, row: PushedAuthorizationRequest) -> PushedRequest:
        p = row.parameters
        return cls(
            id=row.id,
            client_id=row.client_id,
            response_type=p["response_type"],
            redirect_uri=p["redirect_uri"],
            scopes=tuple(p.get("scopes") or ()),
            state=p.get("state"),
            nonce=p.get("nonce"),
            code_challenge=p["code_challenge"],
            code_challenge_method=p["code_challenge_method"],
            authorization_details=p.get("authorization_details"),
            consent_id=row.consent_id,
            claims=p.get("claims"),
            acr_values=tuple(p.get("acr_values") or ()),
            prompt=tuple(p.get("prompt") or ()),
            max_age=p.get("max_age"),
            login_hint=p.get("login_hint"),
            ui_locales=p.get("ui_locales"),
            created_at=row.created_at,
            expires_at=row.expires_at,
            consumed_at=row.consumed_at,
        )


class PushedAuthorizationResponse(BaseModel):
    """RFC 9126 s2.2."""

    request_uri: str
    expires_in: int
