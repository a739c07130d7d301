"""Support staff's side: customers' threads newest activity first (by status, by customer, with what no staff
member has read), a thread naming who answered, answers, closing. Support and admins only."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from obank.runtime import Platform
from tests.notifications.conversations.conftest import (
    CUSTOMER_BASE,
    PNG,
    STAFF_BASE,
    SUPPORT_AGENT,
    HeadersFor,
    OpenThread,
    audit_actions,
    problem,
)


async def test_support_reads_answers_and_closes_a_thread(
    platform: Platform,
    client: httpx.AsyncClient,
    alice: dict[str, str],
    alice_id: uuid.UUID,
    headers_for: HeadersFor,
    support: dict[str, str],
    staff_headers: Callable[..., dict[str, str]],
    open_thread: OpenThread,
) -> None:
    first = await open_thread(alice, "Card not arrived", "Where is my card?")
    await client.post(f"{CUSTOMER_BASE}/{first['id']}/messages", json={"text": "Still nothing."}, headers=alice)
    bobs = await open_thread(headers_for(uuid.uuid4()), "Address change")

    listed = await client.get(STAFF_BASE, params={"status": "OPEN"}, headers=support)
    assert listed.status_code == 200, listed.text
    rows = {row["id"]: row for row in listed.json()}
    assert [row["id"] for row in listed.json()] == [bobs["id"], first["id"]]
    assert rows[first["id"]]["customer_id"] == str(alice_id) and rows[first["id"]]["unread_count"] == 2
    assert rows[first["id"]]["subject"] == "Card not arrived"
    only_alice = await client.get(STAFF_BASE, params={"customer_id": str(alice_id)}, headers=support)
    assert [row["id"] for row in only_alice.json()] == [first["id"]]

    thread = await client.get(f"{STAFF_BASE}/{first['id']}", headers=support)
    assert thread.status_code == 200
    assert thread.json()["customer_id"] == str(alice_id)
    assert [(m["author"], m["staff_id"], m["text"]) for m in thread.json()["messages"]] == [
        ("Customer", None, "Where is my card?"),
        ("Customer", None, "Still nothing."),
    ]
    assert all(message["read_at"] for message in thread.json()["messages"])  # read by staff now
    listed = await client.get(STAFF_BASE, params={"customer_id": str(alice_id)}, headers=support)
    assert listed.json()[0]["unread_count"] == 0

    answer = await client.post(
        f"{STAFF_BASE}/{first['id']}/messages", json={"text": "A new card is on its way."}, headers=support
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["staff_id"] == SUPPORT_AGENT and answer.json()["author"] == SUPPORT_AGENT
    admin = staff_headers("admin", subject="admin-7")
    await client.post(f"{STAFF_BASE}/{first['id']}/messages", json={"text": "And sorry for the wait."}, headers=admin)
    thread = await client.get(f"{STAFF_BASE}/{first['id']}", headers=support)
    assert [m["staff_id"] for m in thread.json()["messages"]] == [None, None, SUPPORT_AGENT, "admin-7"]
    assert [m["read_at"] for m in thread.json()["messages"][2:]] == [None, None]  # the customer has not read them

    closed = await client.post(f"{STAFF_BASE}/{first['id']}/close", headers=support)
    assert closed.status_code == 200 and closed.json()["status"] == "CLOSED" and closed.json()["closed_at"]
    assert [row["id"] for row in (await client.get(STAFF_BASE, params={"status": "OPEN"}, headers=support)).json()] == [
        bobs["id"]
    ]
    closed_list = await client.get(STAFF_BASE, params={"status": "CLOSED"}, headers=support)
    assert [row["id"] for row in closed_list.json()] == [first["id"]]
    assert await audit_actions(platform, first["id"]) == [
        "conversation.opened",
        "conversation.message_added",
        "conversation.read",
        "conversation.message_added",
        "conversation.message_added",
        "conversation.closed",
    ]
    unknown = await client.get(f"{STAFF_BASE}/{uuid.uuid4()}", headers=support)
    assert problem(unknown, 404)["code"] == "conversation_not_found"
    assert problem(await client.post(f"{STAFF_BASE}/{uuid.uuid4()}/close", headers=support), 404)


THREAD = "{thread}"
ATTACHMENT = "{attachment}"
STAFF_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("GET", f"/{THREAD}", None),
    ("POST", f"/{THREAD}/messages", {"text": "Hello"}),
    ("POST", f"/{THREAD}/close", None),
    ("GET", f"/{THREAD}/attachments/{ATTACHMENT}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), STAFF_ROUTES, ids=[f"{m} {p}" for m, p, _ in STAFF_ROUTES])
async def test_only_support_staff_and_admins_reach_the_staff_routes(
    platform: Platform,
    client: httpx.AsyncClient,
    alice: dict[str, str],
    staff_headers: Callable[..., dict[str, str]],
    open_thread: OpenThread,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    thread = await open_thread(alice)
    sent = await client.post(
        f"{CUSTOMER_BASE}/{thread['id']}/messages",
        data={"text": "file"},
        files=[("files", ("a.png", PNG, "image/png"))],
        headers=alice,
    )
    url = STAFF_BASE + path.replace(THREAD, thread["id"]).replace(ATTACHMENT, sent.json()["attachments"][0]["id"])
    problem(await client.request(method, url, json=body), 401)
    for role in ("fraud_analyst", "auditor"):
        refused = problem(await client.request(method, url, json=body, headers=staff_headers(role)), 403)
        assert refused["code"] == "insufficient_role"
    assert problem(await client.request(method, url, json=body, headers=alice), 403)["code"] == "forbidden"
    assert await audit_actions(platform, thread["id"]) == ["conversation.opened", "conversation.message_added"]
    for role in ("support", "admin"):
        answer = await client.request(method, url, json=body, headers=staff_headers(role))
        assert answer.status_code in (200, 201), (role, answer.status_code, answer.text[:300])


CUSTOMER_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("POST", "", {"subject": "Hi", "text": "Hello"}),
    ("GET", f"/{THREAD}", None),
    ("POST", f"/{THREAD}/messages", {"text": "Hello"}),
    ("GET", f"/{THREAD}/attachments/{ATTACHMENT}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), CUSTOMER_ROUTES, ids=[f"{m} {p}" for m, p, _ in CUSTOMER_ROUTES])
async def test_the_customer_routes_are_for_customers(
    client: httpx.AsyncClient,
    staff_headers: Callable[..., dict[str, str]],
    alice: dict[str, str],
    open_thread: OpenThread,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    thread = await open_thread(alice)
    url = CUSTOMER_BASE + path.replace(THREAD, thread["id"]).replace(ATTACHMENT, str(uuid.uuid4()))
    problem(await client.request(method, url, json=body), 401)
    refused = problem(await client.request(method, url, json=body, headers=staff_headers("admin")), 403)
    assert refused["code"] == "forbidden"


async def test_the_openapi_document_describes_both_message_bodies_and_downloads(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    message = paths["/api/v1/conversations/{conversation_id}/messages"]["post"]
    assert set(message["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert {"404", "409", "413", "415", "422"} <= set(message["responses"])
    download = paths["/api/v1/conversations/{conversation_id}/attachments/{attachment_id}"]["get"]
    assert set(download["responses"]["200"]["content"]) == {"application/pdf", "image/png", "image/jpeg"}
    for path, operations in paths.items():
        if "conversations" not in path:
            continue
        for operation in operations.values():
            assert operation.get("description") or operation.get("summary"), path
            assert {"401", "403", "422"} <= set(operation["responses"]), path
