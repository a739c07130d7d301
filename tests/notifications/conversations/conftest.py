"""Secure messages fixtures: the notifications app over a fresh database, customers' and staff members' assertions,
files of each kind, and helpers to read what the database keeps."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from notifications.app import create_app
from obank.database import unit_of_work
from obank.principal import PRINCIPAL_HEADER, Principal, PrincipalKind
from obank.problems import PROBLEM_MEDIA_TYPE
from obank.runtime import Platform

CUSTOMER_BASE = "/api/v1/conversations"
STAFF_BASE = "/admin/v1/conversations"
SUPPORT_AGENT = "staff-support-1"
HeadersFor = Callable[..., dict[str, str]]

# Files by their content: the three we take, and what we refuse whatever it is called.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64))
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64)) + b"\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(64)
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(64)
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return create_app(platform)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notifications") as http:
        yield http


@pytest.fixture
def headers_for(app: FastAPI) -> HeadersFor:
    """Headers carrying a gateway-signed assertion: a customer by id, or staff (`kind="staff"`) with `roles`."""

    def make(subject: uuid.UUID | str, *roles: str, kind: PrincipalKind = "customer") -> dict[str, str]:
        principal = Principal(
            subject=str(subject),
            kind=kind,
            interaction_id="00000000-0000-4000-8000-000000000017",
            client_id="obank-web" if kind == "customer" else "obank-console",
            scopes=frozenset({"openid"}) if kind == "customer" else frozenset(),
            roles=frozenset(roles),
        )
        return {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "notifications")}

    return make


@pytest.fixture
def staff_headers(headers_for: HeadersFor) -> Callable[..., dict[str, str]]:
    def make(*roles: str, subject: str = SUPPORT_AGENT) -> dict[str, str]:
        return headers_for(subject, *(roles or ("support",)), kind="staff")

    return make


@pytest.fixture
def support(staff_headers: Callable[..., dict[str, str]]) -> dict[str, str]:
    return staff_headers("support")


@pytest.fixture
def alice_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def alice(headers_for: HeadersFor, alice_id: uuid.UUID) -> dict[str, str]:
    return headers_for(alice_id)


OpenThread = Callable[..., Any]


@pytest.fixture
def open_thread(client: httpx.AsyncClient) -> OpenThread:
    """A customer's new thread (the API's answer)."""

    async def make(headers: dict[str, str], subject: str = "Card not arrived", text_: str = "Hello") -> dict[str, Any]:
        answer = await client.post(CUSTOMER_BASE, json={"subject": subject, "text": text_}, headers=headers)
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        return body

    return make


def problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """The problem document of a refusal with one of `statuses`."""
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code and body["code"]
    return body


async def fetch_all(platform: Platform, sql: str, **params: Any) -> list[Any]:
    async with unit_of_work(platform.sessions) as session:
        return list((await session.execute(text(sql), params)).all())


async def audit_actions(platform: Platform, entity_id: str) -> list[str]:
    """The audit trail's actions on an entity, oldest first."""
    rows = await fetch_all(
        platform,
        "SELECT action FROM audit.audit_records WHERE entity_id = :e ORDER BY occurred_at, chain, sequence",
        e=entity_id,
    )
    return [row[0] for row in rows]


async def events_of(platform: Platform, conversation_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The conversation's outbox events (type, payload), oldest first."""
    rows = await fetch_all(
        platform,
        "SELECT event_type, payload FROM platform.outbox_events WHERE topic = 'notifications.conversations' "
        "AND payload->>'conversation_id' = :c ORDER BY position",
        c=conversation_id,
    )
    return [(row[0], row[1]) for row in rows]
