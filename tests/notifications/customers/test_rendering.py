"""Every kind renders in plain text and HTML from the event's facts, in en-GB, with nothing secret in it."""

from __future__ import annotations

import re

import pytest

from notifications.customers.models import SECURITY_KINDS, Kind
from notifications.customers.rendering import Context, Renderer, format_amount

ACCOUNT_NUMBER = "31926819"
FACTS = {
    "occurred_at": "2026-07-01T09:30:00+00:00",
    "amount_minor": 123_456,
    "currency": "GBP",
    "account_id": "6f0b7d2e-8a8f-4e55-9f3c-5c4f5b9c3f10",
    "payment_id": "0d1f2e3c-4b5a-4978-8695-a4b3c2d1e0f9",
    "reason": "AM04",
    "confirmation_hours": 24,
    "order_kind": "STANDING_ORDER",
    "sequence": 3,
    "consent_id": "aac-1234",
    "client_id": "<script>alert(1)</script>",
    "consent_kind": "ACCOUNT_ACCESS",
    "expires_at": "2027-01-31T00:00:00+00:00",
    "month": "2026-11",
    "closing_balance_minor": 250_000,
    "paid_in_minor": 100_000,
    "paid_out_minor": 50_000,
    "balance_minor": 4_250,
    "threshold_minor": 5_000,
}
# What must never be in a message: a full account number, a token, a secret, a password.
FORBIDDEN = re.compile(rf"{ACCOUNT_NUMBER}|password\s*[:=]|eyJ[A-Za-z0-9_-]{{10,}}|secret\s*[:=]", re.IGNORECASE)


@pytest.mark.parametrize("kind", list(Kind), ids=[kind.value for kind in Kind])
def test_every_kind_renders_in_text_and_html_without_secrets(kind: Kind) -> None:
    rendered = Renderer().render(kind, Context(facts=dict(FACTS), account_ending=ACCOUNT_NUMBER[-4:], first_name="Ada"))

    assert rendered.subject and "\n" not in rendered.subject
    assert rendered.text.startswith("Hello Ada,")
    assert rendered.html.startswith("<!doctype html>") and "Hello Ada," in rendered.html
    for part in (rendered.subject, rendered.text, rendered.html):
        assert not FORBIDDEN.search(part), part
        assert "None" not in part and "{{" not in part
    assert "<script>" not in rendered.html  # the TPP's name is escaped in HTML
    assert ("always sent by email" in rendered.text) is (kind in SECURITY_KINDS)


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        pytest.param(123_456, "GBP", "£1,234.56", id="pounds"),
        pytest.param(-500, "GBP", "-£5.00", id="negative"),
        pytest.param(5, "EUR", "€0.05", id="euro-cents"),
        pytest.param(1000, "JPY", "1,000 JPY", id="no-minor-unit"),
    ],
)
def test_amounts_are_written_as_customers_read_them(minor: int, currency: str, shown: str) -> None:
    assert format_amount(minor, currency) == shown


def test_amounts_and_dates_read_in_en_gb() -> None:
    rendered = Renderer().render(Kind.PAYMENT_HELD, Context(facts=dict(FACTS), account_ending="6819"))
    assert rendered.subject == "Confirm your payment of £1,234.56"
    assert "ending 6819" in rendered.text and "24 hours" in rendered.text
    expiring = Renderer().render(Kind.CONSENT_EXPIRING, Context(facts=dict(FACTS)))
    assert "31 January 2027" in expiring.subject
    statement = Renderer().render(Kind.STATEMENT_READY, Context(facts=dict(FACTS)))
    assert statement.subject == "Your statement for November 2026 is ready"


def test_a_payment_held_for_the_fraud_review_is_explained_in_general_terms() -> None:
    facts = {**FACTS, "held_for": "FRAUD_REVIEW", "confirmation_hours": 72}
    rendered = Renderer().render(Kind.PAYMENT_HELD, Context(facts=facts))
    assert "security check" in rendered.text and "72 hours" in rendered.text
    assert "payee you added recently" not in rendered.text and "fraud" not in rendered.text.lower()
    cooling_off = Renderer().render(Kind.PAYMENT_HELD, Context(facts=dict(FACTS)))
    assert "payee you added recently" in cooling_off.text and "security check" not in cooling_off.text
