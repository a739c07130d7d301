"""Hostile input to every route (bad ids, NUL and other control characters, overlong text, huge numbers, broken
JSON, unknown values) is a problem+json 4xx that changes nothing, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from obank.runtime import Platform
from tests.notifications.conversations.conftest import (
    CUSTOMER_BASE,
    STAFF_BASE,
    OpenThread,
    audit_actions,
    fetch_all,
    problem,
)

THREAD = "{thread}"
UNKNOWN = "5d7a3b2e-1c4f-4e8a-9b6d-2f1e0c9a8b7d"
# (who, method, path, params, body: JSON value or raw bytes)
HOSTILE: list[tuple[str, str, str, dict[str, str] | None, Any]] = [
    ("customer", "POST", CUSTOMER_BASE, None, {"subject": "a\x00b", "text": "x"}),
    ("customer", "POST", CUSTOMER_BASE, None, {"subject": "ok", "text": "nul\x00"}),
    ("customer", "POST", CUSTOMER_BASE, None, {"subject": "ok", "text": "bell\x07"}),
    ("customer", "POST", CUSTOMER_BASE, None, {"subject": "ok", "text": "x" * 5001}),
    ("customer", "POST", CUSTOMER_BASE, None, {"subject": "s" * 121, "text": "x"}),
    ("customer", "POST", CUSTOMER_BASE, None, {"subject": "", "text": "x"}),
    ("customer", "POST", CUSTOMER_BASE, None, {"subject": "   ", "text": "x"}),
    ("customer", "POST", CUSTOMER_BASE, None, {"subject": "two\nlines", "text": "x"}),
    ("customer", "POST", CUSTOMER_BASE, None, {"subject": "ok", "text": ""}),
    ("customer", "POST", CUSTOMER_BASE, None, {"subject": "ok"}),
    ("customer", "POST", CUSTOMER_BASE, None, {"subject": "ok", "text": 10**400}),
    ("customer", "POST", CUSTOMER_BASE, None, {"subject": "ok", "text": "x", "customer_id": UNKNOWN}),
    ("customer", "POST", CUSTOMER_BASE, None, b'{"subject": '),
    ("customer", "POST", CUSTOMER_BASE, None, b"\x00\xff"),
    ("customer", "POST", CUSTOMER_BASE, None, None),
    ("customer", "GET", CUSTOMER_BASE, {"limit": str(10**30)}, None),
    ("customer", "GET", CUSTOMER_BASE, {"limit": "0"}, None),
    ("customer", "GET", CUSTOMER_BASE, {"offset": "-1"}, None),
    ("customer", "GET", CUSTOMER_BASE, {"offset": "1\x00"}, None),
    ("customer", "GET", f"{CUSTOMER_BASE}/not-a-uuid", None, None),
    ("customer", "GET", f"{CUSTOMER_BASE}/%00", None, None),
    ("customer", "GET", f"{CUSTOMER_BASE}/" + "9" * 400, None, None),
    ("customer", "GET", f"{CUSTOMER_BASE}/{THREAD}/attachments/not-a-uuid", None, None),
    ("customer", "GET", f"{CUSTOMER_BASE}/{THREAD}/attachments/{UNKNOWN}", None, None),
    ("customer", "POST", f"{CUSTOMER_BASE}/not-a-uuid/messages", None, {"text": "x"}),
    ("customer", "POST", f"{CUSTOMER_BASE}/{UNKNOWN}/messages", None, {"text": "x"}),
    ("customer", "POST", f"{CUSTOMER_BASE}/{THREAD}/messages", None, {"text": "nul\x00"}),
    ("customer", "POST", f"{CUSTOMER_BASE}/{THREAD}/messages", None, {"text": "x" * 5001}),
    ("customer", "POST", f"{CUSTOMER_BASE}/{THREAD}/messages", None, {"text": "   "}),
    ("customer", "POST", f"{CUSTOMER_BASE}/{THREAD}/messages", None, {"text": ["x"]}),
    ("customer", "POST", f"{CUSTOMER_BASE}/{THREAD}/messages", None, {"text": "x", "author_kind": "staff"}),
    ("customer", "POST", f"{CUSTOMER_BASE}/{THREAD}/messages", None, b"[1, 2"),
    ("customer", "POST", f"{CUSTOMER_BASE}/{THREAD}/messages", None, b""),
    ("staff", "GET", STAFF_BASE, {"status": "MAYBE"}, None),
    ("staff", "GET", STAFF_BASE, {"status": "OPEN\x00"}, None),
    ("staff", "GET", STAFF_BASE, {"customer_id": "123"}, None),
    ("staff", "GET", STAFF_BASE, {"limit": "201"}, None),
    ("staff", "GET", STAFF_BASE, {"offset": str(10**30)}, None),
    ("staff", "GET", f"{STAFF_BASE}/not-a-uuid", None, None),
    ("staff", "GET", f"{STAFF_BASE}/{UNKNOWN}/attachments/{UNKNOWN}", None, None),
    ("staff", "POST", f"{STAFF_BASE}/{THREAD}/messages", None, {"text": "x" * 5001}),
    ("staff", "POST", f"{STAFF_BASE}/{THREAD}/messages", None, {"text": "nul\x00"}),
    ("staff", "POST", f"{STAFF_BASE}/{THREAD}/messages", None, {"text": ""}),
    ("staff", "POST", f"{STAFF_BASE}/{THREAD}/messages", None, b"{{"),
    ("staff", "POST", f"{STAFF_BASE}/not-a-uuid/close", None, None),
    ("staff", "POST", f"{STAFF_BASE}/{UNKNOWN}/close", None, None),
]


@pytest.mark.parametrize(
    ("who", "method", "path", "params", "body"),
    HOSTILE,
    ids=[f"{index:02d} {method} {path[:40]!r}" for index, (_, method, path, _, _) in enumerate(HOSTILE)],
)
async def test_hostile_input_is_a_problem_and_changes_nothing(
    platform: Platform,
    client: httpx.AsyncClient,
    alice: dict[str, str],
    support: dict[str, str],
    open_thread: OpenThread,
    who: str,
    method: str,
    path: str,
    params: dict[str, str] | None,
    body: Any,
) -> None:
    thread = await open_thread(alice)
    headers = dict(alice if who == "customer" else support)
    path = path.replace(THREAD, thread["id"])
    if isinstance(body, bytes):
        answer = await client.request(
            method, path, params=params, content=body, headers={**headers, "content-type": "application/json"}
        )
    else:
        answer = await client.request(method, path, params=params, json=body, headers=headers)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    problem(answer, answer.status_code)
    assert await audit_actions(platform, thread["id"]) == ["conversation.opened"]
    assert len(await fetch_all(platform, "SELECT id FROM notifications.conversations")) == 1
