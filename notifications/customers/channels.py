"""How a rendered message leaves the bank: one `Transport` per channel (email over SMTP; SMS and push to
development sinks, JSON lines files, until the bank has providers). The in-app channel needs none: the inbox
is the message's own row."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

import aiosmtplib

from obank.settings import Settings

SINK_HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A rendered message for one recipient (an email address, a phone number, or a customer id for push)."""

    message_id: uuid.UUID
    recipient: str
    subject: str
    text: str
    html: str | None = None


class Transport(Protocol):
    """Sends one message or raises; a raise is retried later by the sender."""

    async def send(self, message: OutgoingMessage) -> None: ...


def uses_mail_sink(settings: Settings) -> bool:
    """Email goes to the local development sink: no SMTP server is configured, outside production."""
    return settings.smtp_host is None and not settings.is_production


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    security: str = "none"  # "starttls", "tls" or "none"
    username: str | None = None
    password: str | None = None
    timeout_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpServer:
        if uses_mail_sink(settings):
            return cls(SINK_HOST, settings.mail_sink_port, "none", timeout_s=settings.smtp_timeout_s)
        if settings.smtp_host is None:
            raise RuntimeError("OBANK_SMTP_HOST is required in production")
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_security,
            settings.smtp_username,
            settings.smtp_password,
            settings.smtp_timeout_s,
        )


class EmailTransport:
    """Email through an SMTP server with aiosmtplib: a plain text part and its HTML alternative."""

    def __init__(self, server: SmtpServer, sender: str) -> None:
        self._server = server
        self._sender = sender

    def compose(self, message: OutgoingMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self._sender
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email["Message-ID"] = make_msgid(idstring=message.message_id.hex, domain="obank.localhost")
        email.set_content(message.text)
        if message.html is not None:
            email.add_alternative(message.html, subtype="html")
        return email

    async def send(self, message: OutgoingMessage) -> None:
        server = self._server
        await aiosmtplib.send(
            self.compose(message),
            hostname=server.host,
            port=server.port,
            use_tls=server.security == "tls",
            start_tls=server.security == "starttls",
            username=server.username,
            password=server.password,
            timeout=server.timeout_s,
        )


class JsonLinesTransport:
    """A development sink: each message one JSON line appended to a file (SMS and push have no provider yet)."""

    def __init__(self, path: Path, channel: str) -> None:
        self.path = path
        self._channel = channel

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as sink:
            sink.write(line + "\n")

    async def send(self, message: OutgoingMessage) -> None:
        record = {
            "id": str(message.message_id),
            "channel": self._channel,
            "to": message.recipient,
            "title": message.subject,
            "text": message.text,
            "at": datetime.now(UTC).isoformat(),
        }
        await asyncio.to_thread(self._append, json.dumps(record, ensure_ascii=False))


def sms_sink_path(settings: Settings) -> Path:
    return settings.data_dir / "notifications" / "sms.jsonl"


def push_sink_path(settings: Settings) -> Path:
    return settings.data_dir / "notifications" / "push.jsonl"
