"""The customer's side of secure messages: open a thread, write, read support's answers (then no longer unread);
threads newest activity first; another customer's thread is unknown; a closed thread takes nothing more."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx

from obank.runtime import Platform
from tests.notifications.conversations.conftest import (
    CUSTOMER_BASE,
    PNG,
    STAFF_BASE,
    SUPPORT_AGENT,
    HeadersFor,
    OpenThread,
    audit_actions,
    events_of,
    problem,
)


async def test_a_customer_opens_a_thread_and_writes_in_it(
    platform: Platform, client: httpx.AsyncClient, alice: dict[str, str], alice_id: uuid.UUID
) -> None:
    opened = await client.post(
        CUSTOMER_BASE, json={"subject": "  Card not arrived ", "text": "My card\nhas not come."}, headers=alice
    )
    assert opened.status_code == 201, opened.text
    thread = opened.json()
    assert thread["subject"] == "Card not arrived" and thread["status"] == "OPEN" and thread["closed_at"] is None
    [first] = thread["messages"]
    assert first["author_kind"] == "customer" and first["author"] == "You"
    assert first["text"] == "My card\nhas not come." and first["attachments"] == []

    added = await client.post(f"{CUSTOMER_BASE}/{thread['id']}/messages", json={"text": "Any news?"}, headers=alice)
    assert added.status_code == 201, added.text
    assert added.json()["text"] == "Any news?" and added.json()["author"] == "You"

    read = await client.get(f"{CUSTOMER_BASE}/{thread['id']}", headers=alice)
    assert read.status_code == 200
    assert [message["text"] for message in read.json()["messages"]] == ["My card\nhas not come.", "Any news?"]
    listed = await client.get(CUSTOMER_BASE, headers=alice)
    assert [(row["id"], row["subject"], row["unread_count"]) for row in listed.json()] == [
        (thread["id"], "Card not arrived", 0)
    ]
    assert listed.json()[0]["last_message_at"] == added.json()["sent_at"]

    assert await audit_actions(platform, thread["id"]) == ["conversation.opened", "conversation.message_added"]
    events = await events_of(platform, thread["id"])
    assert [event_type for event_type, _ in events] == ["conversation.opened", "conversation.message_added"]
    assert events[1][1] == {
        "conversation_id": thread["id"],
        "customer_id": str(alice_id),
        "message_id": added.json()["id"],
        "author_kind": "customer",
        "attachments": [],
    }


async def test_support_answers_are_unread_until_the_customer_opens_the_thread(
    platform: Platform,
    client: httpx.AsyncClient,
    alice: dict[str, str],
    support: dict[str, str],
    open_thread: OpenThread,
) -> None:
    thread = await open_thread(alice)
    for text in ("We have sent a new card.", "It should arrive in 3 days."):
        answer = await client.post(f"{STAFF_BASE}/{thread['id']}/messages", json={"text": text}, headers=support)
        assert answer.status_code == 201, answer.text
    assert (await client.get(CUSTOMER_BASE, headers=alice)).json()[0]["unread_count"] == 2

    read = await client.get(f"{CUSTOMER_BASE}/{thread['id']}", headers=alice)
    assert read.status_code == 200
    answers = [message for message in read.json()["messages"] if message["author_kind"] == "staff"]
    assert [message["author"] for message in answers] == ["obank support", "obank support"]
    assert SUPPORT_AGENT not in read.text  # which staff member wrote is never shown to customers
    assert (await client.get(CUSTOMER_BASE, headers=alice)).json()[0]["unread_count"] == 0
    assert (await audit_actions(platform, thread["id"]))[-1] == "conversation.read"

    again = await client.get(f"{CUSTOMER_BASE}/{thread['id']}", headers=alice)  # nothing left to mark: no record
    assert again.status_code == 200
    assert (await audit_actions(platform, thread["id"])).count("conversation.read") == 1


async def test_threads_are_listed_newest_activity_first(
    client: httpx.AsyncClient, alice: dict[str, str], open_thread: OpenThread
) -> None:
    older = await open_thread(alice, "First")
    newer = await open_thread(alice, "Second")
    listed = await client.get(CUSTOMER_BASE, headers=alice)
    assert [row["id"] for row in listed.json()] == [newer["id"], older["id"]]
    await client.post(f"{CUSTOMER_BASE}/{older['id']}/messages", json={"text": "Bump"}, headers=alice)
    listed = await client.get(CUSTOMER_BASE, headers=alice)
    assert [row["id"] for row in listed.json()] == [older["id"], newer["id"]]
    page = await client.get(CUSTOMER_BASE, params={"limit": 1, "offset": 1}, headers=alice)
    assert [row["id"] for row in page.json()] == [newer["id"]]


async def test_another_customers_thread_reads_as_unknown(
    platform: Platform,
    client: httpx.AsyncClient,
    alice: dict[str, str],
    headers_for: HeadersFor,
    open_thread: OpenThread,
) -> None:
    thread = await open_thread(alice)
    sent = await client.post(
        f"{CUSTOMER_BASE}/{thread['id']}/messages",
        data={"text": "With a file"},
        files=[("files", ("a.png", PNG, "image/png"))],
        headers=alice,
    )
    attachment_id = sent.json()["attachments"][0]["id"]
    bob = headers_for(uuid.uuid4())
    unknown = uuid.uuid4()
    for path in (f"{CUSTOMER_BASE}/{thread['id']}", f"{CUSTOMER_BASE}/{unknown}"):
        assert problem(await client.get(path, headers=bob), 404)["code"] == "conversation_not_found"
    refused = await client.post(f"{CUSTOMER_BASE}/{thread['id']}/messages", json={"text": "Hi"}, headers=bob)
    assert problem(refused, 404)["code"] == "conversation_not_found"
    download = await client.get(f"{CUSTOMER_BASE}/{thread['id']}/attachments/{attachment_id}", headers=bob)
    assert problem(download, 404)["code"] == "conversation_not_found"
    other = await client.get(f"{CUSTOMER_BASE}/{thread['id']}/attachments/{uuid.uuid4()}", headers=alice)
    assert problem(other, 404)["code"] == "attachment_not_found"
    assert (await client.get(CUSTOMER_BASE, headers=bob)).json() == []
    assert await audit_actions(platform, thread["id"]) == ["conversation.opened", "conversation.message_added"]


async def test_a_closed_thread_takes_no_more_messages(
    platform: Platform,
    client: httpx.AsyncClient,
    alice: dict[str, str],
    support: dict[str, str],
    staff_headers: Callable[..., dict[str, str]],
    open_thread: OpenThread,
) -> None:
    thread = await open_thread(alice)
    closed = await client.post(f"{STAFF_BASE}/{thread['id']}/close", headers=support)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "CLOSED" and closed.json()["closed_by"] == "staff-support-1"
    again = await client.post(f"{STAFF_BASE}/{thread['id']}/close", headers=staff_headers("admin", subject="admin-1"))
    assert again.status_code == 200 and again.json()["closed_by"] == "staff-support-1"  # the first closing stands

    refused = await client.post(f"{CUSTOMER_BASE}/{thread['id']}/messages", json={"text": "Hello?"}, headers=alice)
    assert problem(refused, 409)["code"] == "conversation_closed"
    with_file = await client.post(
        f"{CUSTOMER_BASE}/{thread['id']}/messages",
        data={"text": "Hello?"},
        files=[("files", ("a.png", PNG, "image/png"))],
        headers=alice,
    )
    assert problem(with_file, 409)["code"] == "conversation_closed"
    staff_refused = await client.post(f"{STAFF_BASE}/{thread['id']}/messages", json={"text": "Hi"}, headers=support)
    assert problem(staff_refused, 409)["code"] == "conversation_closed"
    customer_view = await client.get(f"{CUSTOMER_BASE}/{thread['id']}", headers=alice)
    assert customer_view.json()["status"] == "CLOSED" and len(customer_view.json()["messages"]) == 1
    assert await audit_actions(platform, thread["id"]) == ["conversation.opened", "conversation.closed"]
