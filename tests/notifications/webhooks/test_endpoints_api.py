"""The staff API of endpoints: register (the secret shown once), read, change, rotate, delete; refusals name
the field; reads for any staff, changes for admins; every change audited."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from standardwebhooks import Webhook

from notifications.webhooks.catalogue import CATALOGUE
from notifications.webhooks.destinations import Destinations
from notifications.webhooks.service import EndpointRules
from obank.database import unit_of_work
from obank.runtime import Platform

BASE = "/admin/v1/webhooks"
URL = "https://127.0.0.1:8443/hooks"


async def _create(client: httpx.AsyncClient, admin: dict[str, str], **body: object) -> dict[str, object]:
    response = await client.post(f"{BASE}/endpoints", json={"url": URL, "event_types": ["*"], **body}, headers=admin)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


async def test_an_endpoint_is_registered_read_changed_and_deleted(
    platform: Platform, client: httpx.AsyncClient, admin: dict[str, str], headers_for: Callable[..., dict[str, str]]
) -> None:
    created = await _create(
        client, admin, event_types=["payment.status_changed", "payee.added"], ordered=True, description="ERP"
    )
    secret = str(created["secret"])
    assert secret.startswith("whsec_") and len(secret) == 6 + 32
    Webhook(secret)  # the reference library reads it
    endpoint_id = created["id"]
    support = headers_for("support")

    read = (await client.get(f"{BASE}/endpoints/{endpoint_id}", headers=support)).json()
    assert "secret" not in read
    assert read["event_types"] == ["payee.added", "payment.status_changed"] and read["ordered"] is True
    listed = (await client.get(f"{BASE}/endpoints", headers=support)).json()
    assert [item["id"] for item in listed] == [endpoint_id]

    changed = await client.patch(
        f"{BASE}/endpoints/{endpoint_id}",
        json={"description": "ERP (new)", "event_types": ["*"], "enabled": False},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["enabled"], changed.json()["disabled_reason"]) == (False, "STAFF")

    assert (await client.delete(f"{BASE}/endpoints/{endpoint_id}", headers=admin)).status_code == 204
    assert (await client.get(f"{BASE}/endpoints/{endpoint_id}", headers=support)).status_code == 404
    assert (await client.get(f"{BASE}/endpoints", headers=support)).json() == []

    async with unit_of_work(platform.sessions) as session:
        actions = (
            await session.execute(
                text("SELECT action FROM audit.audit_records WHERE entity_id = :e ORDER BY occurred_at"),
                {"e": endpoint_id},
            )
        ).scalars()
        audited = list(actions)
        sealed = (await session.execute(text("SELECT secret_sealed FROM notifications.webhook_secrets"))).scalar_one()
    assert audited == ["webhook_endpoint.created", "webhook_endpoint.updated", "webhook_endpoint.deleted"]
    assert secret.removeprefix("whsec_").encode() not in sealed  # sealed at rest


async def test_a_rotated_secret_is_shown_once(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    created = await _create(client, admin)
    rotated = await client.post(f"{BASE}/endpoints/{created['id']}/rotate-secret", headers=admin)
    assert rotated.status_code == 201
    assert rotated.json()["secret"] != created["secret"]
    assert "secret" not in (await client.get(f"{BASE}/endpoints/{created['id']}", headers=admin)).json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://127.0.0.1/hooks", "event_types": ["*"]}, "url"),
        ({"url": "https://user:pw@127.0.0.1/hooks", "event_types": ["*"]}, "url"),
        ({"url": "not a url at all", "event_types": ["*"]}, "url"),
        ({"url": "https://" + "a" * 3000 + ".example/", "event_types": ["*"]}, "url"),
        ({"url": URL, "event_types": ["payment.teleported"]}, "event_types.0"),
        ({"url": URL, "event_types": []}, "event_types"),
        ({"url": URL, "event_types": ["*"], "description": "x" * 201}, "description"),
        ({"url": URL, "event_types": ["*"], "secret": "whsec_mine"}, "secret"),
        ({"url": URL, "event_types": ["*"], "description": "a\u0085b"}, "description"),
    ],
)
async def test_invalid_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict[str, object], field: str
) -> None:
    response = await client.post(f"{BASE}/endpoints", json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith(field), response.json()


async def test_a_nul_byte_is_refused(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    body = '{"url": "https://127.0.0.1/h", "event_types": ["*"], "description": "a\\u0000b"}'
    response = await client.post(
        f"{BASE}/endpoints", content=body, headers={**admin, "content-type": "application/json"}
    )
    assert response.status_code == 422 and "description" in response.json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://localhost/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.1.1/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://[::ffff:10.0.0.1]/hooks",
        "https://224.0.0.1/hooks",
        "https://0.0.0.0/hooks",
    ],
)
async def test_private_addresses_are_refused_unless_allowed(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], rules: EndpointRules, url: str
) -> None:
    app.state.webhook_rules = EndpointRules(Destinations(allow_private_networks=False), rules.secret_overlap)
    response = await client.post(f"{BASE}/endpoints", json={"url": url, "event_types": ["*"]}, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("url: the host")


async def test_who_may_do_what(
    client: httpx.AsyncClient, admin: dict[str, str], headers_for: Callable[..., dict[str, str]]
) -> None:
    created = await _create(client, admin)
    for role in ("support", "auditor", "fraud_analyst"):
        staff = headers_for(role)
        assert (await client.get(f"{BASE}/endpoints", headers=staff)).status_code == 200
        refused = await client.post(f"{BASE}/endpoints", json={"url": URL, "event_types": ["*"]}, headers=staff)
        assert refused.status_code == 403 and refused.json()["code"] == "insufficient_role"
        assert (await client.post(f"{BASE}/endpoints/{created['id']}/rotate-secret", headers=staff)).status_code == 403
    customer = headers_for(kind="customer", subject="5b0e9a62-4f43-4e55-8d54-2a44f3fbd1f1")
    assert (await client.get(f"{BASE}/endpoints", headers=customer)).status_code == 403
    assert (await client.get(f"{BASE}/endpoints")).status_code == 401


async def test_unknown_ids_are_404(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    unknown = "7f1d1c36-5d8f-4a53-9a5d-3c1d2b1f0e10"
    for method, path in (
        ("GET", f"{BASE}/endpoints/{unknown}"),
        ("PATCH", f"{BASE}/endpoints/{unknown}"),
        ("DELETE", f"{BASE}/endpoints/{unknown}"),
        ("POST", f"{BASE}/endpoints/{unknown}/rotate-secret"),
        ("GET", f"{BASE}/endpoints/{unknown}/messages"),
        ("POST", f"{BASE}/endpoints/{unknown}/replay-dead"),
        ("GET", f"{BASE}/messages/{unknown}"),
        ("GET", f"{BASE}/messages/msg_{unknown.replace('-', '')}"),
        ("GET", f"{BASE}/messages/not-a-message"),
        ("POST", f"{BASE}/messages/{unknown}/replay"),
    ):
        response = await client.request(method, path, json={} if method == "PATCH" else None, headers=admin)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_the_event_types_are_listed(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    listed = (await client.get(f"{BASE}/event-types", headers=admin)).json()
    assert [item["type"] for item in listed] == list(CATALOGUE)
    statement = next(item for item in listed if item["type"] == "statement.ready")
    assert statement["orders_by"] == "account_id" and "closing_balance_minor" in statement["fields"]
