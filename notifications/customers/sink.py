"""The development mail sink: an SMTP server on 127.0.0.1 that keeps every email it receives, sealed, in
`notifications.mail_sink` (shown by `obank mail` and /dev/mail). Never in production."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.customers import repository
from notifications.customers.channels import SINK_HOST
from notifications.customers.models import SinkedMail
from obank.crypto import KeyRing, seal, unseal
from obank.database import unit_of_work
from obank.log import get_logger

RECIPIENTS, SUBJECT, CONTENT = "mail_sink_recipients", "mail_sink_subject", "mail_sink_content"
MAX_MESSAGE_BYTES = 1_048_576
_log = get_logger("notifications.customers.sink")


@dataclass(frozen=True, slots=True)
class KeptMail:
    """An email the sink kept, opened."""

    id: uuid.UUID
    received_at: datetime
    recipients: list[str]
    subject: str
    content: bytes

    def parsed(self) -> EmailMessage:
        return message_from_bytes(self.content, policy=policy.default)

    def part(self, subtype: str) -> str | None:
        """The message's `text/<subtype>` part, decoded."""
        body = self.parsed().get_body(preferencelist=(subtype,))
        return None if body is None else str(body.get_content())


class _KeepingHandler:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], keyring: KeyRing) -> None:
        self._sessions = sessions
        self._keyring = keyring

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        await keep(self._sessions, self._keyring, list(envelope.rcpt_tos), content)
        return "250 Message accepted for delivery"


async def keep(
    sessions: async_sessionmaker[AsyncSession], keyring: KeyRing, recipients: list[str], content: bytes
) -> uuid.UUID:
    """Store one received email, sealed to its row."""
    subject = str(message_from_bytes(content, policy=policy.default).get("Subject", ""))[:500]
    mail_id = uuid.uuid4()
    mail = SinkedMail(
        id=mail_id,
        received_at=datetime.now(UTC),
        size=len(content),
        recipients_sealed=seal(keyring, mail_id, RECIPIENTS, "\n".join(recipients).encode()),
        subject_sealed=seal(keyring, mail_id, SUBJECT, subject.encode()),
        content_sealed=seal(keyring, mail_id, CONTENT, content),
    )
    async with unit_of_work(sessions) as session:
        await repository.add_sinked_mail(session, mail)
    return mail_id


def opened(keyring: KeyRing, mail: SinkedMail) -> KeptMail:
    recipients = unseal(keyring, mail.id, RECIPIENTS, mail.recipients_sealed).decode()
    return KeptMail(
        id=mail.id,
        received_at=mail.received_at,
        recipients=recipients.split("\n") if recipients else [],
        subject=unseal(keyring, mail.id, SUBJECT, mail.subject_sealed).decode(),
        content=unseal(keyring, mail.id, CONTENT, mail.content_sealed),
    )


async def kept_mails(sessions: async_sessionmaker[AsyncSession], keyring: KeyRing, limit: int = 50) -> list[KeptMail]:
    """The newest emails the sink kept."""
    async with unit_of_work(sessions) as session:
        return [opened(keyring, mail) for mail in await repository.sinked_mails(session, limit)]


async def kept_mail(
    sessions: async_sessionmaker[AsyncSession], keyring: KeyRing, mail_id: uuid.UUID
) -> KeptMail | None:
    async with unit_of_work(sessions) as session:
        mail = await repository.sinked_mail(session, mail_id)
        return None if mail is None else opened(keyring, mail)


class MailSink:
    """The SMTP sink as a background job: listens while the process runs."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], keyring: KeyRing, port: int) -> None:
        self._handler = _KeepingHandler(sessions, keyring)
        self._port = port

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                lambda: SMTP(self._handler, hostname="obank-mail-sink", data_size_limit=MAX_MESSAGE_BYTES),
                host=SINK_HOST,
                port=self._port,
            )
        except OSError as error:
            # Another obank process on this machine holds the sink's port: email reaches its sink instead.
            _log.warning("mail_sink_not_listening", error=type(error).__name__, port=self._port)
            return
        _log.info("mail_sink_listening", port=self._port)
        try:
            await stop.wait()
        finally:
            server.close()
            await server.wait_closed()
