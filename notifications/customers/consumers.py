"""Events that concern a customer, turned into messages by the channels they chose (consumer
`notifications.customers`).

Each event makes its messages in the transaction `apply_once` opens for it, unique per (event, kind, channel):
an event delivered twice makes nothing twice. Nothing is sent here; the sender (`sending.py`) does that after
commit. Whose account it is, and a balance for low-balance notices, are read through core banking's facade.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.facade import AccountNotFound, AccountRecord, CoreBanking
from notifications.conversations.service import MESSAGE_ADDED as CONVERSATION_MESSAGE_ADDED
from notifications.conversations.service import TOPIC as CONVERSATIONS_TOPIC
from notifications.customers import repository
from notifications.customers.models import Kind, MessageStatus
from notifications.customers.service import channels_for
from obank.log import get_logger
from obank.outbox.consumers import Consumer
from obank.outbox.record import Event
from obank.settings import Settings
from obank.topics import CONSENT_AUTHORISED, CONSENT_REVOKED, CONSENTS_TOPIC, PAYMENTS_TOPIC

CONSUMER_NAME = "notifications.customers"
# Topics of other contexts' events (their names as each publisher defines them).
SECURITY_TOPIC = "auth_server.security"
PAYEES_TOPIC = "core_banking.payees"
PAYMENT_ORDERS_TOPIC = "core_banking.payment_orders"
STATEMENTS_TOPIC = "core_banking.statements"
LEDGER_TOPIC = "core_banking.ledger"
TRANSFERS_TOPIC = "core_banking.transfers"
TOPICS = (
    SECURITY_TOPIC,
    PAYEES_TOPIC,
    PAYMENTS_TOPIC,
    PAYMENT_ORDERS_TOPIC,
    CONSENTS_TOPIC,
    STATEMENTS_TOPIC,
    LEDGER_TOPIC,
    TRANSFERS_TOPIC,
    CONVERSATIONS_TOPIC,
)
# Long-lived consents a customer is told about (a payment consent is used once, as the payment is made).
LONG_LIVED_CONSENTS = frozenset({"ACCOUNT_ACCESS", "FUNDS_CONFIRMATION"})
SETTLED, REJECTED = "ACSC", "RJCT"
CANCELLED_BY_CUSTOMER = "CUST"
_log = get_logger("notifications.customers.consumers")

CoreBankingFactory = Callable[[], CoreBanking]


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell one customer, from one event; `due_at` defers it (a reminder)."""

    kind: Kind
    customer_id: uuid.UUID
    facts: dict[str, Any]
    due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BalanceWatch:
    """An account whose available balance an event changed, to compare with its customer's threshold."""

    account_id: uuid.UUID
    customer_id: uuid.UUID | None = None
    balance_minor: int | None = None  # as the event tells it (after the change), else read now


@dataclass(slots=True)
class Reading:
    notices: list[Notice] = field(default_factory=list)
    watches: list[BalanceWatch] = field(default_factory=list)
    holders: list[tuple[Kind, uuid.UUID, dict[str, Any]]] = field(default_factory=list)  # kind to an account's holder


def _uuid(value: object) -> uuid.UUID | None:
    return None if value in (None, "") else uuid.UUID(str(value))


def _amount(payload: dict[str, Any], name: str = "amount_minor") -> dict[str, Any]:
    return {"amount_minor": int(payload[name]), "currency": str(payload["currency"])}


def _security(event: Event, reading: Reading) -> None:
    payload = event.payload
    kinds = {
        "login.new_device": Kind.NEW_DEVICE,
        "identity.password_changed": Kind.PASSWORD_CHANGED,
        "identity.password_reset": Kind.PASSWORD_CHANGED,
        "mfa.enrolled": Kind.TOTP_CHANGED,
    }
    kind = kinds.get(event.event_type)
    if kind is None or payload.get("kind") != "customer":
        return
    # The customer is the actor, or (a reset by staff) the identity's customer.
    customer = payload.get("customer_id") or (
        payload.get("actor_id") if payload.get("actor_kind") == "customer" else None
    )
    customer_id = _uuid(customer)
    if customer_id is not None:
        reading.notices.append(Notice(kind, customer_id, {}))


def _payments(event: Event, reading: Reading, settings: Settings) -> None:
    payload = event.payload
    if event.event_type == "payment.received":
        account_id = _uuid(payload.get("account_id"))
        if account_id is not None and payload.get("status") == SETTLED:
            facts = {**_amount(payload), "account_id": str(account_id)}
            reading.holders.append((Kind.PAYMENT_RECEIVED, account_id, facts))
            reading.watches.append(BalanceWatch(account_id))
        return
    if "payment_id" not in payload:
        return
    customer_id = uuid.UUID(str(payload["customer_id"]))
    debtor = uuid.UUID(str(payload["debtor_account_id"]))
    facts = {**_amount(payload), "account_id": str(debtor), "payment_id": str(payload["payment_id"])}
    status = payload.get("status")
    if event.event_type == "payment.held":
        hours = max(1, settings.payments_confirmation_window_s // 3600)
        reading.notices.append(Notice(Kind.PAYMENT_HELD, customer_id, {**facts, "confirmation_hours": hours}))
        reading.watches.append(BalanceWatch(debtor, customer_id))
    elif event.event_type == "payment.fraud_flagged" and payload.get("fraud", {}).get("recommendation") == "REVIEW":
        # Held for the bank's fraud review: the customer may confirm it (or cancel it), in general terms.
        hours = max(1, settings.fraud_review_window_s // 3600)
        held = {**facts, "confirmation_hours": hours, "held_for": "FRAUD_REVIEW"}
        reading.notices.append(Notice(Kind.PAYMENT_HELD, customer_id, held))
    elif event.event_type == "payment.submitted":
        reading.watches.append(BalanceWatch(debtor, customer_id))
    elif event.event_type == "payment.status_changed" and status == SETTLED:
        reading.notices.append(Notice(Kind.PAYMENT_SENT, customer_id, facts))
        creditor = _uuid(payload.get("creditor_account_id"))
        if creditor is not None:  # paid to an account of this bank: its holder received it
            received = {**_amount(payload), "account_id": str(creditor), "payment_id": str(payload["payment_id"])}
            reading.holders.append((Kind.PAYMENT_RECEIVED, creditor, received))
            reading.watches.append(BalanceWatch(creditor))
    elif event.event_type == "payment.status_changed" and status == REJECTED:
        if payload.get("reason") != CANCELLED_BY_CUSTOMER:
            reading.notices.append(Notice(Kind.PAYMENT_FAILED, customer_id, {**facts, "reason": payload.get("reason")}))
        reading.watches.append(BalanceWatch(debtor, customer_id))


def _consents(event: Event, reading: Reading, settings: Settings, now: datetime) -> None:
    payload = event.payload
    customer_id = _uuid(payload.get("customer_id"))
    if customer_id is None or payload.get("kind") not in LONG_LIVED_CONSENTS:
        return
    facts = {
        "consent_id": str(payload["consent_id"]),
        "client_id": str(payload["client_id"]),
        "consent_kind": str(payload["kind"]),
        "expires_at": payload.get("expires_at"),
    }
    if event.event_type == CONSENT_AUTHORISED:
        reading.notices.append(Notice(Kind.CONSENT_GRANTED, customer_id, facts))
        if facts["expires_at"]:
            remind_at = datetime.fromisoformat(str(facts["expires_at"])) - timedelta(
                days=settings.notifications_consent_expiry_notice_days
            )
            if remind_at > now:  # sent then only if the consent is still in force (`sending.py`)
                reading.notices.append(Notice(Kind.CONSENT_EXPIRING, customer_id, facts, due_at=remind_at))
    elif event.event_type == CONSENT_REVOKED:
        reading.notices.append(Notice(Kind.CONSENT_REVOKED, customer_id, facts))


def read_event(event: Event, settings: Settings, now: datetime) -> Reading:
    """What an event tells whom; raises KeyError, ValueError or TypeError on a payload it cannot read."""
    reading = Reading()
    payload = event.payload
    if event.topic == SECURITY_TOPIC:
        _security(event, reading)
    elif event.topic == PAYEES_TOPIC and event.event_type == "payee.added":
        reading.notices.append(Notice(Kind.PAYEE_ADDED, uuid.UUID(str(payload["customer_id"])), {}))
    elif event.topic == PAYMENTS_TOPIC:
        _payments(event, reading, settings)
    elif event.topic == PAYMENT_ORDERS_TOPIC and event.event_type == "payment_order.run_failed":
        facts = {
            "order_id": str(payload["order_id"]),
            "order_kind": str(payload["kind"]),
            "account_id": str(payload["debtor_account_id"]),
            "sequence": int(payload["sequence"]),
            "reason": payload.get("reason"),
        }
        reading.notices.append(Notice(Kind.SCHEDULED_PAYMENT_FAILED, uuid.UUID(str(payload["customer_id"])), facts))
    elif event.topic == CONSENTS_TOPIC:
        _consents(event, reading, settings, now)
    elif event.topic == STATEMENTS_TOPIC and event.event_type == "statement.ready":
        facts = {
            "account_id": str(payload["account_id"]),
            "month": str(payload["month"]),
            "currency": str(payload["currency"]),
            "closing_balance_minor": int(payload["closing_balance_minor"]),
            "paid_in_minor": int(payload["paid_in_minor"]),
            "paid_out_minor": int(payload["paid_out_minor"]),
        }
        reading.notices.append(Notice(Kind.STATEMENT_READY, uuid.UUID(str(payload["customer_id"])), facts))
    elif event.topic == LEDGER_TOPIC and event.event_type in ("funds.withdrawn", "funds.deposited"):
        balance = int(payload["booked_balance_minor"]) if "booked_balance_minor" in payload else None
        reading.watches.append(BalanceWatch(uuid.UUID(str(payload["account_id"])), balance_minor=balance))
    elif event.topic == CONVERSATIONS_TOPIC and event.event_type == CONVERSATION_MESSAGE_ADDED:
        if payload.get("author_kind") == "staff":  # support answered: the customer hears of it, not what it says
            facts = {"conversation_id": str(payload["conversation_id"])}
            reading.notices.append(Notice(Kind.SECURE_MESSAGE, uuid.UUID(str(payload["customer_id"])), facts))
    elif event.topic == TRANSFERS_TOPIC and event.event_type == "transfer.completed":
        customer_id = uuid.UUID(str(payload["customer_id"]))
        reading.watches.append(BalanceWatch(uuid.UUID(str(payload["source_account_id"])), customer_id))
        reading.watches.append(BalanceWatch(uuid.UUID(str(payload["destination_account_id"]))))
    return reading


class CustomerNotifier:
    """Turns events into customer messages in the consumer's transaction."""

    def __init__(self, settings: Settings, core: CoreBanking) -> None:
        self._settings = settings
        self._core = core

    async def _account(self, account_id: uuid.UUID) -> AccountRecord | None:
        try:
            return await self._core.get_account(account_id)
        except AccountNotFound:
            return None

    async def _threshold(self, session: AsyncSession, customer_id: uuid.UUID) -> int | None:
        preferences = await repository.get_preferences(session, customer_id)
        return None if preferences is None else preferences.low_balance_threshold_minor

    async def _low_balance(self, session: AsyncSession, watch: BalanceWatch, now: datetime) -> Notice | None:
        """A notice when the account's available balance has just gone below its customer's threshold; once per
        crossing (it must rise to the threshold again before the next one)."""
        if watch.customer_id is not None and await self._threshold(session, watch.customer_id) is None:
            return None
        account = await self._account(watch.account_id)
        if account is None or account.customer_id is None:
            return None
        threshold = await self._threshold(session, account.customer_id)
        if threshold is None:
            return None
        # The booked balance the event left, when it tells it (events delivered late still see each crossing),
        # less the money held now: the customer's own money they can spend (no overdraft).
        booked = watch.balance_minor if watch.balance_minor is not None else account.booked_balance_minor
        available = booked - account.held_minor
        below = available < threshold
        was_below = await repository.swap_low_balance_state(session, account.id, account.customer_id, below, now)
        if not below or was_below:
            return None
        facts = {
            "account_id": str(account.id),
            "currency": account.currency,
            "balance_minor": available,
            "threshold_minor": threshold,
        }
        return Notice(Kind.LOW_BALANCE, account.customer_id, facts)

    async def notices(self, session: AsyncSession, event: Event, now: datetime) -> list[Notice]:
        try:
            reading = read_event(event, self._settings, now)
        except (KeyError, ValueError, TypeError) as error:
            # Another context's event this consumer cannot read tells nobody anything; logged by its class only.
            _log.warning("notification_event_unreadable", error=type(error).__name__, event_type=event.event_type[:60])
            return []
        notices = list(reading.notices)
        for kind, account_id, facts in reading.holders:
            account = await self._account(account_id)
            if account is not None and account.customer_id is not None:
                notices.append(Notice(kind, account.customer_id, facts))
        for watch in dict.fromkeys(reading.watches):
            low = await self._low_balance(session, watch, now)
            if low is not None:
                notices.append(low)
        return notices

    async def apply(self, session: AsyncSession, event: Event) -> None:
        now = datetime.now(UTC)
        notices = await self.notices(session, event, now)
        await record_notices(session, event.event_id, notices, now, occurred_at=event.occurred_at)


async def record_notices(
    session: AsyncSession, event_id: uuid.UUID, notices: Sequence[Notice], now: datetime, *, occurred_at: datetime
) -> int:
    """One message per notice and channel the customer chose; none twice for one event, kind and channel."""
    rows: list[dict[str, Any]] = []
    for notice in notices:
        preferences = await repository.get_preferences(session, notice.customer_id)
        for channel in channels_for(preferences, notice.kind):
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "customer_id": notice.customer_id,
                    "event_id": event_id,
                    "kind": notice.kind,
                    "channel": channel,
                    "facts": {**notice.facts, "occurred_at": occurred_at.isoformat()},
                    "status": MessageStatus.PENDING,
                    "next_attempt_at": notice.due_at or now,
                    "created_at": now,
                }
            )
    return await repository.add_messages(session, rows)


def customer_notifications_consumer(settings: Settings, core: CoreBanking) -> Consumer:
    """The consumer `bank.jobs.consumer_registry` registers."""
    notifier = CustomerNotifier(settings, core)
    handler: Callable[[AsyncSession, Event], Awaitable[None]] = notifier.apply
    return Consumer(name=CONSUMER_NAME, topics=TOPICS, handler=handler)
