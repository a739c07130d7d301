"""The event types integrators may subscribe to, and what each message's `data` carries.

Each type names the outbox topic it comes from and the payload fields a receiver gets, an allow-list: outbox
payloads are written for the bank's own consumers, and some carry what a webhook must not (a consent's creditor
name, account number and reference; a staff member's free-text reason). A field added to an event later reaches
no receiver until it is listed here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from obank import topics

WILDCARD = "*"  # every type in the catalogue

_ACCOUNTS_TOPIC = "core_banking.accounts"
_LEDGER_TOPIC = "core_banking.ledger"
_TRANSFERS_TOPIC = "core_banking.transfers"
_PAYEES_TOPIC = "core_banking.payees"
_PAYMENT_ORDERS_TOPIC = "core_banking.payment_orders"
_STATEMENTS_TOPIC = "core_banking.statements"
_INTEREST_TOPIC = "core_banking.interest"

_PAYMENT = (
    "payment_id",
    "origin",
    "route",
    "customer_id",
    "debtor_account_id",
    "creditor_account_id",
    "amount_minor",
    "currency",
    "status",
    "reason",
    "consent_id",
    "client_id",
    "scheme_transaction_id",
    "payee_id",
)
_RECEIVED_PAYMENT = ("scheme_transaction_id", "account_id", "amount_minor", "currency", "status", "reason", "entry_id")
_PAYEE = ("payee_id", "customer_id", "cop_result", "cop_reason", "cooling_off_until", "deleted")
_PAYMENT_ORDER = (
    "order_id",
    "kind",
    "status",
    "customer_id",
    "debtor_account_id",
    "client_id",
    "consent_id",
    "currency",
    "first_amount_minor",
    "frequency",
    "on_month_end",
    "payee_id",
    "first_date",
    "next_sequence",
    "next_due_at",
)
# A consent's snapshot also holds the payment it authorises (creditor name and account, reference): never sent.
_CONSENT = ("consent_id", "kind", "client_id", "status", "customer_id", "account_ids", "revoked_by", "expires_at")
# An account's change may carry the staff member's free-text reason: never sent.
_ACCOUNT = (
    "account_id",
    "customer_id",
    "kind",
    "account_type",
    "currency",
    "status",
    "overdraft_limit_minor",
    "daily_limit_minor",
    "monthly_limit_minor",
    "interest_rate_bps",
)
_CASH = ("account_id", "entry_id", "amount_minor", "currency", "booked_balance_minor")
_TRANSFER = (
    "transfer_id",
    "customer_id",
    "source_account_id",
    "destination_account_id",
    "amount_minor",
    "currency",
    "status",
    "entry_id",
)
_STATEMENT = (
    "account_id",
    "customer_id",
    "month",
    "currency",
    "opening_balance_minor",
    "closing_balance_minor",
    "paid_in_minor",
    "paid_out_minor",
)


@dataclass(frozen=True, slots=True)
class EventType:
    """One subscribable event: its outbox topic, what it means, the fields of its `data`, and the field that names
    the account it concerns (an ordered endpoint receives one account's messages in order)."""

    name: str
    topic: str
    description: str
    fields: tuple[str, ...]
    account_field: str | None = None

    def data(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The message's `data`: the listed fields the event carries, nothing else."""
        return {name: payload[name] for name in self.fields if name in payload}

    def account_of(self, payload: Mapping[str, Any]) -> str | None:
        if self.account_field is None:
            return None
        value = payload.get(self.account_field)
        return None if value is None else str(value)


def _types(*types: EventType) -> dict[str, EventType]:
    return {event_type.name: event_type for event_type in types}


def _payment(name: str, description: str) -> EventType:
    return EventType(name, topics.PAYMENTS_TOPIC, description, _PAYMENT, "debtor_account_id")


def _order(name: str, description: str, *extra: str) -> EventType:
    return EventType(name, _PAYMENT_ORDERS_TOPIC, description, (*_PAYMENT_ORDER, *extra), "debtor_account_id")


def _consent(name: str, description: str) -> EventType:
    return EventType(name, topics.CONSENTS_TOPIC, description, (*_CONSENT, "reason"))


def _account(name: str, description: str) -> EventType:
    return EventType(name, _ACCOUNTS_TOPIC, description, _ACCOUNT, "account_id")


CATALOGUE: Mapping[str, EventType] = _types(
    _payment("payment.submitted", "A payment was accepted for processing"),
    _payment("payment.held", "A payment waits for its customer's confirmation (a payee in its cooling-off)"),
    _payment("payment.status_changed", "A payment's status changed (ISO 20022: PDNG, ACSP, ACSC, RJCT)"),
    _payment("payment.reconciliation_required", "The scheme's answer about a payment disagrees with the bank's"),
    _payment("payment.fraud_flagged", "The fraud checks held a payment for review, or stopped it (status says which)"),
    _payment("payment.released", "A payment held for a fraud review goes on (its customer or an analyst released it)"),
    EventType(
        "payment.received",
        topics.PAYMENTS_TOPIC,
        "A payment from another bank arrived through Faster Payments (credited, or refused)",
        _RECEIVED_PAYMENT,
        "account_id",
    ),
    EventType("payee.added", _PAYEES_TOPIC, "A customer saved a payee", _PAYEE),
    EventType("payee.updated", _PAYEES_TOPIC, "A customer changed a saved payee", _PAYEE),
    EventType("payee.deleted", _PAYEES_TOPIC, "A customer deleted a saved payee", _PAYEE),
    _order("payment_order.created", "A scheduled payment or standing order was set up"),
    _order("payment_order.amended", "A standing order was changed", "changed"),
    _order("payment_order.paused", "A standing order was paused"),
    _order("payment_order.resumed", "A paused standing order was resumed"),
    _order("payment_order.cancelled", "A scheduled payment or standing order was cancelled"),
    _order("payment_order.completed", "A scheduled payment or standing order made its last payment"),
    _order("payment_order.ran", "An occurrence was paid", "sequence", "payment_id"),
    _order("payment_order.retry_scheduled", "An occurrence was refused and is retried later", "sequence", "reason"),
    _order("payment_order.run_failed", "An occurrence failed after its last retry", "sequence", "reason"),
    _consent("consent.created", "A TPP asked for a consent"),
    _consent("consent.authorised", "A customer authorised a consent"),
    _consent("consent.rejected", "A consent was rejected, or not answered in time"),
    _consent("consent.revoked", "A consent was revoked by its TPP or its customer (`revoked_by`)"),
    _consent("consent.expired", "A consent reached its expiry"),
    _consent("consent.consumed", "A payment consent's one payment was made"),
    _account("account.opened", "An account was opened"),
    _account("account.frozen", "An account was frozen"),
    _account("account.unfrozen", "A frozen account was released"),
    _account("account.closed", "An account was closed"),
    _account("account.details_updated", "An account's limits or rate changed"),
    EventType("funds.deposited", _LEDGER_TOPIC, "Staff deposited cash to an account", _CASH, "account_id"),
    EventType("funds.withdrawn", _LEDGER_TOPIC, "Staff paid out cash from an account", _CASH, "account_id"),
    EventType(
        "transfer.completed",
        _TRANSFERS_TOPIC,
        "A customer moved money between accounts at the bank",
        _TRANSFER,
        "source_account_id",
    ),
    EventType(
        "statement.ready",
        _STATEMENTS_TOPIC,
        "An account's monthly statement was issued",
        _STATEMENT,
        "account_id",
    ),
    EventType(
        "interest.posted",
        _INTEREST_TOPIC,
        "Last month's interest was paid to a savings account",
        ("account_id", "month", "paid_minor", "currency", "entry_id"),
        "account_id",
    ),
)

TOPICS: tuple[str, ...] = tuple(sorted({event_type.topic for event_type in CATALOGUE.values()}))


def event_type_for(topic: str, name: str) -> EventType | None:
    """The catalogue's entry for an event, if integrators may receive it."""
    entry = CATALOGUE.get(name)
    return entry if entry is not None and entry.topic == topic else None


def subscribable() -> Iterator[EventType]:
    return iter(CATALOGUE.values())
