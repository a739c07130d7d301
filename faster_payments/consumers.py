"""The scheme's side of the wire: every message the bank sends it, applied once per event."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from faster_payments import service
from faster_payments.messages import CreditTransfer, InvalidMessage, StatusReport, decode
from obank.crypto import KeyRing
from obank.log import get_logger
from obank.outbox.consumers import Consumer
from obank.outbox.record import Event
from obank.topics import FPS_TO_SCHEME_TOPIC

SCHEME_CONSUMER = "faster_payments.clearing"
_log = get_logger("faster_payments.consumers")


def scheme_consumer(keyring: KeyRing) -> Consumer:
    """Clear the bank's pacs.008, record its pacs.002 answers, answer its pacs.028 status requests.

    The key ring is unused (the scheme seals nothing); it is taken so every context's consumers are built alike.
    """

    async def apply(session: AsyncSession, event: Event) -> None:
        try:
            message = decode(event.event_type, event.payload.get("xml", ""))  # a str, else refused
        except InvalidMessage as exc:
            # Never the content: a malformed message may carry anything. Skipped, so it cannot block the topic.
            _log.warning("scheme_message_undecodable", event_id=str(event.event_id), error=type(exc).__name__)
            return
        if isinstance(message, CreditTransfer):
            await service.clear_credit_transfer(session, message)
        elif isinstance(message, StatusReport):
            await service.record_bank_status(session, message)
        else:
            await service.answer_status_request(session, message)

    return Consumer(name=SCHEME_CONSUMER, topics=(FPS_TO_SCHEME_TOPIC,), handler=apply)
