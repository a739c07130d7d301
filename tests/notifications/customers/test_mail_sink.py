"""With no SMTP server configured (development), email goes to the local sink, which keeps it for
`obank mail` and the /dev/mail pages."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import structlog
from sqlalchemy import text
from typer.testing import CliRunner

from bank.cli import app as cli
from core_banking.facade import InProcessCoreBanking
from notifications.app import create_app
from notifications.customers.channels import sms_sink_path, uses_mail_sink
from notifications.customers.consumers import Notice, record_notices
from notifications.customers.models import Kind
from notifications.customers.sending import NotificationSender, transports_for
from notifications.customers.sink import MailSink, kept_mails
from obank.database import unit_of_work
from obank.runtime import build_platform
from obank.settings import Settings, get_settings
from tests.conftest import TEST_KEYS
from tests.core_banking.helpers import new_account, new_customer


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Development email: no SMTP host, the sink on a free port."""
    return Settings(
        env="test",
        data_dir=tmp_path / "var",
        certs_dir=tmp_path / "certs",
        database_url=database_url,
        encryption_keys=json.dumps(TEST_KEYS),
        active_encryption_key_id="test-1",
        mail_sink_port=_free_port(),
    )


@pytest.fixture
def restore_logging() -> Iterator[None]:
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


async def _listening(port: int) -> None:
    """Wait until the sink accepts connections (it starts as a task)."""
    while True:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.01)
            continue
        writer.close()
        await writer.wait_closed()
        return


def test_development_email_is_kept_by_the_sink_and_shown_by_obank_mail_and_dev_mail(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    assert uses_mail_sink(settings)
    assert not uses_mail_sink(settings.model_copy(update={"smtp_host": "smtp.bank.example"}))

    async def scenario() -> tuple[str, str, str, str]:
        platform = build_platform(settings)
        stop = asyncio.Event()
        sink = asyncio.create_task(MailSink(platform.sessions, platform.keyring, settings.mail_sink_port).run(stop))
        try:
            await _listening(settings.mail_sink_port)
            customer = await new_customer(platform.sessions, platform.keyring, full_name="Grace Hopper")
            account = await new_account(platform.sessions, platform.keyring, customer.id)
            facts = {"account_id": str(account.id), "amount_minor": 2_500, "currency": "GBP"}
            async with unit_of_work(platform.sessions) as session:
                now = datetime.now(UTC)
                notices = [Notice(Kind.PAYMENT_RECEIVED, customer.id, facts)]
                await record_notices(session, uuid.uuid4(), notices, now, occurred_at=now)
                # The in-app copy goes by SMS instead, to the development SMS sink.
                await session.execute(
                    text("UPDATE notifications.customer_messages SET channel = 'sms' WHERE channel = 'in_app'")
                )
            core = InProcessCoreBanking(platform.sessions, platform.keyring)
            assert await NotificationSender(platform, core, transports_for(platform)).send_due() == 2
            (kept,) = await kept_mails(platform.sessions, platform.keyring)
            assert kept.recipients == [customer.email]
            assert kept.subject == "You received £25.00"
            notifications = create_app(platform)
            transport = httpx.ASGITransport(app=notifications)
            async with httpx.AsyncClient(transport=transport, base_url="http://dev") as http:
                listing = (await http.get("/dev/mail")).text
                page = (await http.get(f"/dev/mail/{kept.id}")).text
                missing = await http.get(f"/dev/mail/{uuid.uuid4()}")
                assert missing.status_code == 404
            return str(kept.id), customer.email, listing, page
        finally:
            stop.set()
            await sink
            await platform.close()

    mail_id, email, listing, page = asyncio.run(scenario())
    assert "You received £25.00" in listing and email in listing
    assert "Hello Grace," in page
    # The HTML part is shown as escaped source, never rendered on the page.
    assert "&lt;strong&gt;£25.00&lt;/strong&gt;" in page and "<strong>£25.00" not in page
    sms = sms_sink_path(settings).read_text().splitlines()
    assert len(sms) == 1 and json.loads(sms[0])["to"] == "+447700900123"

    for name, value in {
        "OBANK_ENV": "test",
        "OBANK_DATA_DIR": str(settings.data_dir),
        "OBANK_DATABASE_URL": settings.database_url or "",
        "OBANK_ENCRYPTION_KEYS": settings.encryption_keys or "",
        "OBANK_ACTIVE_ENCRYPTION_KEY_ID": settings.active_encryption_key_id or "",
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        listed = runner.invoke(cli, ["mail", "list"])
        assert listed.exit_code == 0, listed.output
        assert mail_id in listed.output and "You received £25.00" in listed.output
        shown = runner.invoke(cli, ["mail", "show", mail_id])
        assert shown.exit_code == 0, shown.output
        assert f"To: {email}" in shown.output and "You received £25.00 into your account ending" in shown.output
        unknown = runner.invoke(cli, ["mail", "show", str(uuid.uuid4())])
        assert unknown.exit_code == 1
    finally:
        get_settings.cache_clear()
