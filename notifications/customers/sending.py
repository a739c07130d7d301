"""The sender loop: claims due messages, renders each at send time and sends it by its channel.

Each batch is claimed in a transaction of its own (`FOR UPDATE SKIP LOCKED`, a lease, the attempt counted), so
any number of processes share the work; a message whose sender died is claimed again once its lease has run
out. Messages of a batch are sent concurrently and settled one transaction each: a slow or failing one holds
up no other. A failed attempt is retried after a backoff that doubles, up to `notifications_max_attempts`,
then the message is FAILED. Contact details and the account's last digits are read through core banking's
facade at send time; what was sent is kept sealed on the message's row, never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from audit.trail import platform_units
from core_banking.facade import (
    AccountNotFound,
    ConsentNotFound,
    ConsentStatus,
    CoreBanking,
    CustomerContact,
    CustomerNotFound,
)
from notifications.customers import repository
from notifications.customers.channels import (
    EmailTransport,
    JsonLinesTransport,
    OutgoingMessage,
    SmtpServer,
    Transport,
    push_sink_path,
    sms_sink_path,
)
from notifications.customers.models import Channel, CustomerMessage, Kind, MessageStatus
from notifications.customers.rendering import Context, Rendered, Renderer
from notifications.customers.service import BODY, RECIPIENT, SUBJECT, TOPIC
from obank.actor import Actor
from obank.crypto import seal
from obank.database import unit_of_work
from obank.log import get_logger
from obank.runtime import Platform
from obank.unit_of_work import UnitsOfWork

BackgroundJob = Callable[[asyncio.Event], Coroutine[Any, Any, None]]

SENDER = Actor.system("notifications.sender")
SENT, FAILED, SKIPPED = "customer_message.sent", "customer_message.failed", "customer_message.skipped"
_log = get_logger("notifications.customers.sending")


class NothingToSend(Exception):
    """The message has no recipient any more (the customer is gone, the consent already ended)."""


def transports_for(platform: Platform) -> dict[Channel, Transport]:
    settings = platform.settings
    return {
        Channel.EMAIL: EmailTransport(SmtpServer.from_settings(settings), settings.smtp_from),
        Channel.SMS: JsonLinesTransport(sms_sink_path(settings), "sms"),
        Channel.PUSH: JsonLinesTransport(push_sink_path(settings), "push"),
    }


@dataclass(frozen=True, slots=True)
class Composed:
    recipient: str
    rendered: Rendered


class NotificationSender:
    """Sends customer messages when due; `run` is a `BackgroundJob`."""

    def __init__(
        self,
        platform: Platform,
        core: CoreBanking,
        transports: Mapping[Channel, Transport],
        renderer: Renderer | None = None,
    ) -> None:
        self._platform = platform
        self._settings = platform.settings
        self._core = core
        self._transports = transports
        self._renderer = renderer or Renderer()
        self._units: UnitsOfWork = platform_units(platform)

    async def run(self, stop: asyncio.Event) -> None:
        """Send what is due until `stop`; a full batch is followed at once by the next."""
        while not stop.is_set():
            sent = 0
            try:
                sent = await self.send_due()
            except Exception as error:  # the database away: try again after the interval
                _log.warning("notification_sender_failed", error=type(error).__name__)
            if sent < self._settings.notifications_batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._settings.notifications_interval_s)

    async def send_due(self, now: datetime | None = None) -> int:
        """Claim one batch of due messages and send them; how many were claimed."""
        now = now or datetime.now(UTC)
        lease_until = now + timedelta(seconds=self._settings.notifications_lease_s)
        async with unit_of_work(self._platform.sessions) as session:
            claimed = await repository.claim_due(session, now, lease_until, self._settings.notifications_batch_size)
            session.expunge_all()
        results = await asyncio.gather(*(self._deliver(message) for message in claimed), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                _log.warning("notification_settle_failed", error=type(result).__name__)
        return len(claimed)

    async def _account_ending(self, facts: dict[str, Any]) -> str | None:
        account_id = facts.get("account_id")
        if not account_id:
            return None
        try:
            account = await self._core.get_account(uuid.UUID(str(account_id)))
        except AccountNotFound:
            return None
        return account.account_number[-4:]

    async def _still_relevant(self, message: CustomerMessage) -> None:
        """A reminder of a consent's end is sent only while the consent is still in force."""
        if message.kind is Kind.CONSENT_EXPIRING:
            try:
                consent = await self._core.get_consent(str(message.facts["consent_id"]))
            except ConsentNotFound as error:
                raise NothingToSend() from error
            if consent.status is not ConsentStatus.AUTHORISED:
                raise NothingToSend()

    async def _contact(self, customer_id: uuid.UUID) -> CustomerContact:
        try:
            return await self._core.customer_contact(customer_id)
        except CustomerNotFound as error:
            raise NothingToSend() from error

    async def compose(self, message: CustomerMessage) -> Composed:
        await self._still_relevant(message)
        contact = await self._contact(message.customer_id)
        recipient = {
            Channel.EMAIL: contact.email,
            Channel.SMS: contact.phone,
            Channel.PUSH: str(message.customer_id),
            Channel.IN_APP: str(message.customer_id),
        }[message.channel]
        first_name = contact.full_name.split()[0] if contact.full_name.strip() else None
        context = Context(
            facts=dict(message.facts), account_ending=await self._account_ending(message.facts), first_name=first_name
        )
        return Composed(recipient, self._renderer.render(message.kind, context))

    async def _deliver(self, message: CustomerMessage) -> None:
        try:
            composed = await self.compose(message)
            transport = self._transports.get(message.channel)
            if transport is not None:
                outgoing = OutgoingMessage(
                    message.id,
                    composed.recipient,
                    composed.rendered.subject,
                    composed.rendered.text,
                    composed.rendered.html,
                )
                await transport.send(outgoing)
        except NothingToSend:
            await self._settle(message, MessageStatus.SKIPPED)
            return
        except Exception as error:
            _log.warning(
                "notification_attempt_failed",
                message_id=str(message.id),
                kind=message.kind.value,
                channel=message.channel.value,
                attempt=message.attempts,
                error=type(error).__name__,
            )
            await self._retry_or_fail(message, type(error).__name__)
            return
        await self._settle(message, MessageStatus.SENT, composed)

    async def _settle(self, message: CustomerMessage, status: MessageStatus, composed: Composed | None = None) -> None:
        now = datetime.now(UTC)
        values: dict[str, Any] = {"status": status, "last_error": None}
        if composed is not None:
            keyring = self._platform.keyring
            values |= {
                "sent_at": now,
                "recipient_sealed": seal(keyring, message.id, RECIPIENT, composed.recipient.encode()),
                "subject_sealed": seal(keyring, message.id, SUBJECT, composed.rendered.subject.encode()),
                "body_sealed": seal(keyring, message.id, BODY, composed.rendered.text.encode()),
            }
        await self._record(message, SENT if status is MessageStatus.SENT else SKIPPED, values)

    async def _retry_or_fail(self, message: CustomerMessage, error: str) -> None:
        settings = self._settings
        values: dict[str, Any] = {"last_error": error[:200]}
        if message.attempts >= settings.notifications_max_attempts:
            await self._record(message, FAILED, {**values, "status": MessageStatus.FAILED})
            return
        delay = settings.notifications_retry_backoff_s * 2 ** (message.attempts - 1)
        values |= {"status": MessageStatus.PENDING, "next_attempt_at": datetime.now(UTC) + timedelta(seconds=delay)}
        async with self._units.begin(SENDER) as uow:
            await repository.settle(uow.session, message.id, message.attempts, **values)

    async def _record(self, message: CustomerMessage, action: str, values: dict[str, Any]) -> None:
        """A final outcome, with its audit record and event (ids only), while this sender's claim holds."""
        async with self._units.begin(SENDER) as uow:
            if not await repository.settle(uow.session, message.id, message.attempts, **values):
                return  # the lease ran out and another sender took the message over
            detail = {
                "message_id": str(message.id),
                "customer_id": str(message.customer_id),
                "kind": message.kind.value,
                "channel": message.channel.value,
                "attempts": message.attempts,
            }
            uow.audit(action=action, entity_type="customer_message", entity_id=str(message.id), after=detail)
            uow.publish(topic=TOPIC, event_type=action, key=str(message.customer_id), payload=detail)


def core_banking_for(platform: Platform) -> CoreBanking:
    """Core banking as notifications reach it: over HTTP when it runs elsewhere, else in this process."""
    settings = platform.settings
    if settings.upstream_core_banking_url:
        from core_banking.internal.client import HttpCoreBanking

        return HttpCoreBanking.from_settings(settings, service="notifications")
    from core_banking.facade import InProcessCoreBanking

    return InProcessCoreBanking(platform.sessions, platform.keyring)


def background_jobs(platform: Platform) -> list[BackgroundJob]:
    """The sender and, when email goes to the development sink, the sink (`bank.jobs.scheduled_jobs`)."""
    from notifications.customers.channels import uses_mail_sink
    from notifications.customers.sink import MailSink

    sender = NotificationSender(platform, core_banking_for(platform), transports_for(platform))
    jobs: list[BackgroundJob] = [sender.run]
    if uses_mail_sink(platform.settings):
        jobs.append(MailSink(platform.sessions, platform.keyring, platform.settings.mail_sink_port).run)
    return jobs
