"""Helpers of the staff identity and customer sessions API tests: principals, problems, audit records, events."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from audit.models import AuditRecord
from audit.trail import platform_units
from audit.verify import decrypt_record
from auth_server.sessions import service as sessions_service
from auth_server.sessions.schemas import ACR_SCA, AMR_OTP, AMR_PASSWORD, SessionRecord, SessionStage
from obank.database import unit_of_work
from obank.outbox.models import OutboxEvent
from obank.principal import PRINCIPAL_HEADER, Principal, PrincipalKind
from obank.runtime import Platform
from tests.auth_server.helpers import TEST_ACTOR

INTERACTION_ID = "00000000-0000-4000-8000-000000000000"


def principal_headers(
    app: FastAPI,
    subject: str,
    *,
    kind: PrincipalKind = "staff",
    roles: Iterable[str] = (),
    scopes: Iterable[str] = (),
    session_id: str | None = None,
    token_id: str | None = None,
) -> dict[str, str]:
    """Headers with the gateway's signed assertion of this principal, for the authorization server."""
    principal = Principal(
        subject=subject,
        kind=kind,
        interaction_id=INTERACTION_ID,
        client_id="console" if kind == "staff" else "web-app",
        roles=frozenset(roles),
        scopes=frozenset(scopes),
        session_id=session_id,
        token_id=token_id,
    )
    return {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "auth_server")}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code, body
    assert body["title"] and "correlation_id" in body
    return body


async def start_session(
    platform: Platform, identity_id: uuid.UUID, *, stage: SessionStage = SessionStage.AUTHENTICATED
) -> SessionRecord:
    """A committed browser session of the login (strongly signed in, unless another stage is asked for)."""
    authenticated = stage is SessionStage.AUTHENTICATED
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        issued = await sessions_service.start_session(
            uow,
            identity_id=identity_id,
            stage=stage,
            amr=[AMR_PASSWORD, AMR_OTP] if authenticated else [],
            acr=ACR_SCA if authenticated else None,
            return_to=None,
            now=datetime.now(UTC),
        )
    return issued.record


async def live_session_ids(platform: Platform, identity_id: uuid.UUID) -> set[uuid.UUID]:
    async with unit_of_work(platform.sessions) as session:
        return {record.id for record in await sessions_service.list_live_sessions(session, identity_id)}


async def audit_records(platform: Platform, action: str, entity_id: str) -> list[AuditRecord]:
    async with unit_of_work(platform.sessions) as session:
        statement = select(AuditRecord).where(AuditRecord.action == action, AuditRecord.entity_id == entity_id)
        return list((await session.scalars(statement)).all())


async def audited_after(platform: Platform, record: AuditRecord) -> dict[str, Any]:
    """The record's sealed after-state, opened."""
    async with unit_of_work(platform.sessions) as session:
        changes = await decrypt_record(session, platform.keyring, record.record_id)
    assert changes.after is not None
    return changes.after


async def events(platform: Platform, event_type: str, key: str) -> list[OutboxEvent]:
    async with unit_of_work(platform.sessions) as session:
        statement = (
            select(OutboxEvent)
            .where(OutboxEvent.event_type == event_type, OutboxEvent.key == key)
            .order_by(OutboxEvent.position)
        )
        return list((await session.scalars(statement)).all())
