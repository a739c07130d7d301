"""`obank webhooks` as an operator runs it: register (the secret printed once), list, rotate, disable and enable,
read messages and dead letters, replay one."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from typing import Protocol

import pytest
import structlog
from sqlalchemy import text
from typer.testing import CliRunner, Result

from bank.cli import app
from notifications.webhooks.models import webhook_id
from obank.database import unit_of_work
from obank.runtime import build_platform
from obank.settings import Settings, get_settings


class Invoke(Protocol):
    def __call__(self, *args: str) -> Result: ...


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    for name, value in {
        "OBANK_ENV": "test",
        "OBANK_DATA_DIR": str(settings.data_dir),
        "OBANK_DATABASE_URL": settings.database_url or "",
        "OBANK_ENCRYPTION_KEYS": settings.encryption_keys or "",
        "OBANK_ACTIVE_ENCRYPTION_KEY_ID": settings.active_encryption_key_id or "",
        "OBANK_WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "true",
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, ["webhooks", *args])

    yield invoke
    get_settings.cache_clear()
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


def _sql(settings: Settings, statement: str, **values: object) -> list[tuple[object, ...]]:
    async def go() -> list[tuple[object, ...]]:
        platform = build_platform(settings)
        try:
            async with unit_of_work(platform.sessions) as session:
                result = await session.execute(text(statement), values)
                return [tuple(row) for row in result] if statement.lstrip().startswith("SELECT") else []
        finally:
            await platform.close()

    return asyncio.run(go())


def test_an_operator_manages_endpoints_and_dead_letters(run: Invoke, settings: Settings) -> None:
    added = run("add", "https://127.0.0.1:9443/erp", "--events", "payment.status_changed,payee.added", "--ordered")
    assert added.exit_code == 0, added.output
    assert "secret: whsec_" in added.output and "shown this once" in added.output
    ((endpoint_id,),) = _sql(settings, "SELECT id FROM notifications.webhook_endpoints")

    listed = run("list")
    assert str(endpoint_id) in listed.output and "payee.added, payment.status_changed" in listed.output
    assert "whsec_" not in listed.output

    rotated = run("rotate", str(endpoint_id))
    assert rotated.exit_code == 0 and "secret: whsec_" in rotated.output and "previous secret signs" in rotated.output

    disabled = run("disable", str(endpoint_id))
    assert disabled.exit_code == 0 and "no (staff)" in disabled.output
    assert run("enable", str(endpoint_id)).exit_code == 0

    message_id = uuid.uuid4()
    _sql(
        settings,
        "INSERT INTO notifications.webhook_messages (id, endpoint_id, event_id, event_type, body, status, attempts,"
        " attempts_total, next_attempt_at, occurred_at, created_at, finished_at, last_response_status)"
        " VALUES (:id, :endpoint, :event, 'payee.added', '{}', 'DEAD', 4, 4, now(), now(), now(), now(), 500)",
        id=message_id,
        endpoint=endpoint_id,
        event=uuid.uuid4(),
    )
    dead = run("messages", "--status", "dead")
    assert webhook_id(message_id) in dead.output and "DEAD" in dead.output and "500" in dead.output
    assert run("messages", "--endpoint", str(endpoint_id), "--status", "delivered").output.count("msg_") == 0

    replayed = run("replay", webhook_id(message_id))
    assert replayed.exit_code == 0 and "PENDING" in replayed.output
    again = run("replay", str(message_id))
    assert again.exit_code == 1 and "PENDING" in again.output

    shown = run("show", str(message_id))
    assert shown.exit_code == 0 and webhook_id(message_id) in shown.output


def test_refusals_name_the_problem(run: Invoke) -> None:
    insecure = run("add", "http://127.0.0.1/hooks", "--events", "*")
    assert insecure.exit_code == 2 and "https" in insecure.output
    unknown = run("add", "https://127.0.0.1/hooks", "--events", "payment.teleported")
    assert unknown.exit_code == 2 and "unknown event type" in unknown.output
    missing = run("rotate", str(uuid.uuid4()))
    assert missing.exit_code == 1 and "no webhook endpoint" in missing.output
    assert run("messages", "--status", "lost").exit_code == 2
    listed = run("event-types")
    assert "statement.ready" in listed.output and "payment.status_changed" in listed.output
