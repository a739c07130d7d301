"""The timeline: a correlation id's records and events; a customer's, account's or payment's records and every
record and event of the requests they belong to (never another customer's, never a job's other subjects), in time
order, metadata only, paged back through whole instants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from obank.runtime import Platform
from tests.audit.investigations.conftest import BASE, HeadersFor, Story, rows

_RECORDS = "SELECT record_id FROM audit.audit_records WHERE correlation_id = ANY(:c)"
_EVENTS = "SELECT event_id FROM platform.outbox_events WHERE correlation_id = ANY(:c)"


async def timeline(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get(f"{BASE}/timeline", params={k: str(v) for k, v in params.items()}, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def of_requests(platform: Platform, *correlation_ids: str) -> set[tuple[str, str]]:
    """(kind, id) of every audit record and outbox event of these requests, read straight from the tables."""
    records = await rows(platform, _RECORDS, c=list(correlation_ids))
    events = await rows(platform, _EVENTS, c=list(correlation_ids))
    return {("audit", str(row.record_id)) for row in records} | {("event", str(row.event_id)) for row in events}


def ids(page: dict[str, Any]) -> set[tuple[str, str]]:
    return {(entry["kind"], entry["id"]) for entry in page["entries"]}


def in_time_order(entries: list[dict[str, Any]]) -> bool:
    instants = [datetime.fromisoformat(entry["occurred_at"]) for entry in entries]
    return instants == sorted(instants)


async def test_a_correlation_id_gives_its_records_and_events_oldest_first(
    platform: Platform, client: httpx.AsyncClient, headers_for: HeadersFor, story: Story
) -> None:
    page = await timeline(client, headers_for("support"), correlation_id=story.payment)
    assert page["subject"] == {"kind": "correlation", "id": story.payment}
    assert ids(page) == await of_requests(platform, story.payment)
    assert in_time_order(page["entries"]) and page["next_before"] is None
    actions = {(entry["kind"], entry["context"], entry["action"]) for entry in page["entries"]}
    # The customer's request, the saga's fraud decision, the fraud context's alert, and their events.
    assert ("audit", "payment", "payment.submitted") in actions
    assert ("audit", "payment", "payment.fraud_decision") in actions
    assert ("audit", "fraud_alert", "fraud_alert.raised") in actions
    assert ("event", "core_banking", "payment.submitted") in actions
    assert ("event", "fraud", "fraud_alert.raised") in actions
    submitted = next(e for e in page["entries"] if e["kind"] == "audit" and e["action"] == "payment.submitted")
    assert submitted | {"id": None, "occurred_at": None} == {
        "kind": "audit",
        "id": None,
        "occurred_at": None,
        "correlation_id": story.payment,
        "context": "payment",
        "action": "payment.submitted",
        "topic": None,
        "entity_type": "payment",
        "entity_id": str(story.payment_id),
        "actor_kind": "customer",
        "actor_id": str(story.customer_id),
        "client_id": "obank-web",
        "published_at": None,
    }
    event = next(e for e in page["entries"] if e["kind"] == "event" and e["action"] == "payment.submitted")
    assert (event["topic"], event["entity_id"], event["actor_kind"]) == (
        "core_banking.payments",
        str(story.payment_id),
        None,
    )
    assert event["published_at"] is not None  # the relay published it
    # Metadata only: no payload, no sealed value (the customer's name, the payee's).
    for secret in ("payload", "before", "after", "Ada Lovelace", "Alan Turing", "1234"):
        assert secret not in str(page["entries"]), secret


async def test_a_customer_timeline_follows_each_of_their_requests_and_no_one_elses(
    platform: Platform, client: httpx.AsyncClient, headers_for: HeadersFor, story: Story
) -> None:
    page = await timeline(client, headers_for("fraud_analyst"), customer_id=story.customer_id)
    assert page["subject"] == {"kind": "customer", "id": str(story.customer_id)}
    # Onboarding (staff, the customer as entity), preferences (notifications, the customer as actor), the payment
    # (as actor): each request whole, with what the system did for it (fraud decision, alert) and every event.
    assert ids(page) == await of_requests(platform, story.onboarding, story.preferences, story.payment)
    assert in_time_order(page["entries"])
    contexts = {entry["context"] for entry in page["entries"]}
    assert {"customer", "account", "payment", "fraud_alert", "core_banking", "fraud", "notifications"} <= contexts
    correlations = {entry["correlation_id"] for entry in page["entries"]}
    assert not correlations & {story.other_onboarding, story.other_payment, story.statements_job}


async def test_an_account_timeline_shows_the_jobs_record_but_does_not_follow_the_job(
    platform: Platform, client: httpx.AsyncClient, headers_for: HeadersFor, story: Story
) -> None:
    page = await timeline(client, headers_for("auditor"), account_id=story.account_id)
    job = [entry for entry in page["entries"] if entry["correlation_id"] == story.statements_job]
    # The job wrote on both accounts under one correlation id: only this account's record is shown.
    assert [(entry["action"], entry["entity_id"], entry["actor_kind"]) for entry in job] == [
        ("statement.issued", str(story.account_id), "system")
    ]
    # The account was opened in the onboarding request, followed whole (the customer's creation too).
    assert await of_requests(platform, story.onboarding) <= ids(page)
    correlations = {entry["correlation_id"] for entry in page["entries"]}
    assert correlations == {story.onboarding, story.statements_job}


async def test_a_payment_timeline_is_the_request_that_made_it(
    platform: Platform, client: httpx.AsyncClient, headers_for: HeadersFor, story: Story
) -> None:
    page = await timeline(client, headers_for("admin"), payment_id=story.payment_id)
    assert ids(page) == await of_requests(platform, story.payment)
    assert page["entries"] == (await timeline(client, headers_for("admin"), correlation_id=story.payment))["entries"]


async def test_pages_run_back_through_whole_instants_and_miss_nothing(
    client: httpx.AsyncClient, headers_for: HeadersFor, story: Story
) -> None:
    staff = headers_for("support")
    whole = (await timeline(client, staff, customer_id=story.customer_id, limit=500))["entries"]
    assert len(whole) > 10
    for limit in (1, 2, 5):
        pages: list[list[dict[str, Any]]] = []
        before: str | None = None
        while True:
            params: dict[str, Any] = {"customer_id": story.customer_id, "limit": limit}
            if before is not None:
                params["before"] = before
            page = await timeline(client, staff, **params)
            entries = page["entries"]
            assert entries and in_time_order(entries)
            # Past the limit only to finish the oldest entry's instant (one transaction's records).
            assert all(entry["occurred_at"] == entries[0]["occurred_at"] for entry in entries[: len(entries) - limit])
            if before is not None:
                assert datetime.fromisoformat(entries[-1]["occurred_at"]) < datetime.fromisoformat(before)
            pages.append(entries)
            before = page["next_before"]
            if before is None:
                break
            assert before == entries[0]["occurred_at"]
        assert [entry for page_entries in reversed(pages) for entry in page_entries] == whole, limit
        if limit == 1:
            # The onboarding request chained its records in one batch, at one instant: a page of one holds them all.
            assert max(len(page_entries) for page_entries in pages) > 1


async def test_before_gives_only_older_entries(
    client: httpx.AsyncClient, headers_for: HeadersFor, story: Story
) -> None:
    staff = headers_for("support")
    whole = (await timeline(client, staff, customer_id=story.customer_id))["entries"]
    cut = next(entry["occurred_at"] for entry in whole if entry["correlation_id"] == story.payment)
    older = (await timeline(client, staff, customer_id=story.customer_id, before=cut))["entries"]
    assert older == [
        entry for entry in whole if datetime.fromisoformat(entry["occurred_at"]) < datetime.fromisoformat(cut)
    ]
    assert {entry["correlation_id"] for entry in older} == {story.onboarding, story.preferences}


async def test_an_unknown_subject_has_an_empty_timeline(client: httpx.AsyncClient, headers_for: HeadersFor) -> None:
    page = await timeline(client, headers_for("support"), customer_id="6f0f3c51-7e0a-4a55-9d0f-0b0a7d2c4e11")
    assert page["entries"] == [] and page["next_before"] is None
