"""A customer's notification preferences: every kind by email and in-app until they choose; security notices
always by email; bad input refused naming the field."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from notifications.customers.models import SECURITY_KINDS, Kind
from obank.runtime import Platform
from tests.notifications.customers.conftest import messages_of

Headers = Callable[[uuid.UUID], dict[str, str]]


async def test_defaults_then_replaced_preferences_choose_the_channels(
    platform: Platform,
    client: httpx.AsyncClient,
    headers_of: Headers,
    holder: Callable[..., Any],
    consumer: Any,
) -> None:
    customer = (await holder()).customer
    headers = headers_of(customer.id)
    defaults = (await client.get("/api/v1/notification-preferences", headers=headers)).json()
    assert defaults["low_balance_threshold_minor"] is None
    assert {row["kind"] for row in defaults["kinds"]} == {kind.value for kind in Kind}
    for row in defaults["kinds"]:
        assert row["channels"] == ["email", "in_app"]
        assert row["security"] is (Kind(row["kind"]) in SECURITY_KINDS)
        assert row["required_channels"] == (["email"] if row["security"] else [])

    body = {
        "kinds": {"payment_sent": ["sms", "push"], "statement_ready": [], "payee_added": ["email", "push"]},
        "low_balance_threshold_minor": 5_000,
    }
    answer = await client.put("/api/v1/notification-preferences", headers=headers, json=body)
    assert answer.status_code == 200, answer.text
    chosen = {row["kind"]: row["channels"] for row in answer.json()["kinds"]}
    assert chosen["payment_sent"] == ["sms", "push"]
    assert chosen["statement_ready"] == []
    assert chosen["payee_added"] == ["email", "push"]
    assert chosen["payment_failed"] == ["email", "in_app"]  # not named: the defaults
    assert (await client.get("/api/v1/notification-preferences", headers=headers)).json() == answer.json()

    # The next payee added goes by email and push.
    from datetime import UTC, datetime

    from notifications.customers.consumers import Notice, record_notices
    from obank.database import unit_of_work

    now = datetime.now(UTC)
    async with unit_of_work(platform.sessions) as session:
        await record_notices(session, uuid.uuid4(), [Notice(Kind.PAYEE_ADDED, customer.id, {})], now, occurred_at=now)
    assert sorted(m.channel.value for m in await messages_of(platform, customer.id)) == ["email", "push"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"kinds": {"password_changed": ["sms"]}}, "kinds.password_changed", id="security-email-off"),
        pytest.param({"kinds": {"new_device": []}}, "kinds.new_device", id="security-all-off"),
        pytest.param({"kinds": {"pigeon_post": ["email"]}}, "kinds.pigeon_post", id="unknown-kind"),
        pytest.param({"kinds": {"payment_sent": ["fax"]}}, "kinds.payment_sent", id="unknown-channel"),
        pytest.param({"low_balance_threshold_minor": -1}, "low_balance_threshold_minor", id="negative-threshold"),
        pytest.param({"low_balance_threshold_minor": 10**30}, "low_balance_threshold_minor", id="huge-threshold"),
        pytest.param({"kinds": {"payment_sent\u0000": ["email"]}}, "", id="nul-byte"),
        pytest.param({"colour": "blue"}, "colour", id="unknown-field"),
    ],
)
async def test_refused_preferences_name_the_field(
    client: httpx.AsyncClient, headers_of: Headers, body: dict[str, Any], field: str
) -> None:
    customer_id = uuid.uuid4()
    answer = await client.put("/api/v1/notification-preferences", headers=headers_of(customer_id), json=body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in answer.json()["detail"]
    unchanged = (await client.get("/api/v1/notification-preferences", headers=headers_of(customer_id))).json()
    assert unchanged["low_balance_threshold_minor"] is None


async def test_preferences_are_for_customers_only(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/notification-preferences")).status_code == 401
