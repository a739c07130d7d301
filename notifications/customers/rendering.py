"""Messages rendered from Jinja2 templates, in plain text and HTML (autoescaped), in en-GB.

Templates see what the event told (`facts`: ids, amounts in minor units, statuses) plus what the sender read
at send time: the account's last four digits and the customer's first name. Nothing else reaches them, so no
full account number, token or secret can appear in a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from core_banking.ledger.periods import BANK_TIMEZONE
from notifications.customers.models import SECURITY_KINDS, Kind
from obank.money import MoneyError, currency_exponent

TEMPLATES = Path(__file__).parent / "templates"
_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
# ISO 20022 status reasons as a customer reads them.
_REASONS = {
    "AM04": "there was not enough money in the account",
    "AM02": "it was over a limit on the account",
    "AM03": "the receiving account does not take that currency",
    "AC01": "the receiving account details are not right",
    "AC04": "the receiving account is closed",
    "AC06": "the receiving account is blocked",
    "AB05": "the payment system did not answer in time",
    "FRAD": "it was stopped by our fraud checks",
    "NOAS": "it was not confirmed in time",
    "CUST": "you cancelled it",
    "INSUFFICIENT_FUNDS": "there was not enough money in the account",
    "LIMIT_EXCEEDED": "it was over a limit on the account",
}
SUBJECTS: dict[Kind, str] = {
    Kind.NEW_DEVICE: "New sign-in to your obank account",
    Kind.PASSWORD_CHANGED: "Your obank password was changed",
    Kind.TOTP_CHANGED: "Your obank authenticator app was changed",
    Kind.PAYEE_ADDED: "A new payee was added to your obank account",
    Kind.PAYMENT_SENT: "Payment of {{ amount }} sent",
    Kind.PAYMENT_FAILED: "Payment of {{ amount }} not made",
    Kind.PAYMENT_HELD: "Confirm your payment of {{ amount }}",
    Kind.PAYMENT_RECEIVED: "You received {{ amount }}",
    Kind.SCHEDULED_PAYMENT_FAILED: "A scheduled payment was not made",
    Kind.CONSENT_GRANTED: "You gave {{ client_id }} access",
    Kind.CONSENT_REVOKED: "Access for {{ client_id }} has ended",
    Kind.CONSENT_EXPIRING: "Access for {{ client_id }} ends on {{ expires_on }}",
    Kind.LOW_BALANCE: "Your balance is below {{ threshold }}",
    Kind.STATEMENT_READY: "Your statement for {{ month }} is ready",
    Kind.SECURE_MESSAGE: "You have a new secure message from obank",
}


def format_amount(minor: int, currency: str) -> str:
    """Minor units as a customer reads them: £1,234.56; -£5.00; 1,000 JPY."""
    try:
        exponent = currency_exponent(currency)
    except MoneyError:
        exponent = 2
    value = Decimal(abs(minor)).scaleb(-exponent)
    digits = f"{value:,.{exponent}f}"
    sign = "-" if minor < 0 else ""
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def _london(value: str | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    return moment.astimezone(BANK_TIMEZONE).strftime("%-d %B %Y at %H:%M")


def _day(value: str | None) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(BANK_TIMEZONE).strftime("%-d %B %Y")


def _month(value: str | None) -> str:
    if not value:
        return ""
    return date.fromisoformat(f"{value[:7]}-01").strftime("%B %Y")


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class Context:
    """What a template may show: the event's facts, the account's last four digits, the customer's first name."""

    facts: dict[str, Any]
    account_ending: str | None = None
    first_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _variables(kind: Kind, context: Context) -> dict[str, Any]:
    facts = context.facts
    currency = str(facts.get("currency") or "GBP")
    variables: dict[str, Any] = {
        "kind": kind.value,
        "security": kind in SECURITY_KINDS,
        "first_name": context.first_name,
        "account_ending": context.account_ending,
        "client_id": facts.get("client_id") or "",
        "reason": _REASONS.get(str(facts.get("reason")), "it could not be completed"),
        "at": _london(facts.get("occurred_at")),
        "expires_on": _day(facts.get("expires_at")),
        "month": _month(facts.get("month")),
        "confirmation_hours": facts.get("confirmation_hours"),
        "held_for": facts.get("held_for"),
        "sequence": facts.get("sequence"),
        "order_kind": "standing order" if facts.get("order_kind") == "STANDING_ORDER" else "scheduled payment",
        "consent_kind": facts.get("consent_kind"),
        **context.extra,
    }
    for name in ("amount", "balance", "threshold", "closing_balance", "paid_in", "paid_out"):
        minor = facts.get(f"{name}_minor")
        variables[name] = None if minor is None else format_amount(int(minor), currency)
    return variables


class Renderer:
    """Renders each kind's `<kind>.txt` and `<kind>.html` under a shared layout, and its subject."""

    def __init__(self, templates: Path = TEMPLATES) -> None:
        loader = FileSystemLoader(templates)
        self._html = Environment(
            loader=loader, autoescape=select_autoescape(["html"]), undefined=StrictUndefined, keep_trailing_newline=True
        )
        # Plain text parts and subjects: no markup to escape.
        self._text = Environment(
            loader=loader,
            autoescape=False,  # noqa: S701
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(self, kind: Kind, context: Context) -> Rendered:
        variables = _variables(kind, context)
        subject = self._text.from_string(SUBJECTS[kind]).render(variables).strip()
        text = self._text.get_template(f"{kind.value}.txt").render(variables)
        html = self._html.get_template(f"{kind.value}.html").render(variables, subject=subject)
        return Rendered(subject=" ".join(subject.split())[:200], text=text, html=html)
