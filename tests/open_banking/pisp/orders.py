"""Helpers of the scheduled payment and standing order tests: bodies, and consents authorised as the page does."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from core_banking.facade import ConsentRecord, InProcessCoreBanking, PaymentStatus
from tests.open_banking.pisp.conftest import JSON, PAYEE_ACCOUNT, PISP, RISK, SIGNED, Debtor, key

SCHEDULED_CONSENTS = PISP + "/domestic-scheduled-payment-consents"
SCHEDULED = PISP + "/domestic-scheduled-payments"
STANDING_ORDER_CONSENTS = PISP + "/domestic-standing-order-consents"
STANDING_ORDERS = PISP + "/domestic-standing-orders"
Headers = Callable[..., dict[str, str]]


def in_days(days: int, *, hour: int = 12) -> str:
    """A date-time `days` from now at `hour`:00 UTC, as a PISP writes it."""
    moment = (datetime.now(UTC) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def payee_of(account: Any | None) -> str:
    return PAYEE_ACCOUNT if account is None else account.sort_code + account.account_number


def scheduled(amount: str = "25.00", *, when: str | None = None, payee: Any = None, **fields: Any) -> dict[str, Any]:
    """A scheduled payment's Initiation: an amount on a date to a payee, with a reference."""
    return {
        "InstructionIdentification": "SCHED-1",
        "EndToEndIdentification": "SCHED-E2E-1",
        "RequestedExecutionDateTime": when or in_days(3),
        "InstructedAmount": {"Amount": amount, "Currency": "GBP"},
        "CreditorAccount": {
            "SchemeName": "UK.OBIE.SortCodeAccountNumber",
            "Identification": payee_of(payee),
            "Name": "ACME Inc",
        },
        "RemittanceInformation": {"Structured": [{"CreditorReferenceInformation": {"Reference": "RENT-DEC"}}]},
        **fields,
    }


def standing_order(
    first: str = "10.00",
    *,
    frequency: str = "MNTH",
    first_at: str | None = None,
    payee: Any = None,
    mandate: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A standing order's Initiation: a first amount from a date at a frequency, to a payee."""
    return {
        "FirstPaymentAmount": {"Amount": first, "Currency": "GBP"},
        "CreditorAccount": {
            "SchemeName": "UK.OBIE.SortCodeAccountNumber",
            "Identification": payee_of(payee),
            "Name": "Landlord Ltd",
        },
        "MandateRelatedInformation": {
            "FirstPaymentDateTime": first_at or in_days(2),
            "Frequency": {"Type": frequency},
            **(mandate or {}),
        },
        "RemittanceInformation": {"Structured": [{"CreditorReferenceInformation": {"Reference": "FLAT-4"}}]},
        **fields,
    }


def consent_body(initiation: dict[str, Any]) -> dict[str, Any]:
    return {"Data": {"Permission": "Create", "Initiation": initiation}, "Risk": copy.deepcopy(RISK)}


def order_body(consent_id: str, initiation: dict[str, Any]) -> dict[str, Any]:
    return {"Data": {"ConsentId": consent_id, "Initiation": initiation}, "Risk": copy.deepcopy(RISK)}


def writing(headers: Headers, **extra: str) -> dict[str, str]:
    """A PISP's POST headers: JSON, the (unverified) signature, a fresh idempotency key."""
    return headers(**JSON, **SIGNED, **{"x-idempotency-key": key()}, **extra)


async def authorised(
    client: httpx.AsyncClient,
    core_banking: InProcessCoreBanking,
    pisp_headers: Headers,
    debtor: Debtor,
    path: str,
    initiation: dict[str, Any],
) -> ConsentRecord:
    """A consent made through the API and authorised by the debtor over their account, as the consent page does."""
    created = await client.post(path, json=consent_body(initiation), headers=writing(pisp_headers))
    assert created.status_code == 201, created.text
    consent_id = created.json()["Data"]["ConsentId"]
    return await core_banking.authorise_consent(
        consent_id, customer_id=debtor.customer_id, account_ids=[debtor.account.id]
    )


async def settled(core_banking: InProcessCoreBanking, payment_id: uuid.UUID) -> PaymentStatus:
    """The payment's status once the saga has answered (within a few seconds)."""
    for _ in range(200):
        payment = await core_banking.get_payment(payment_id)
        if payment.status in (PaymentStatus.ACCEPTED_SETTLEMENT_COMPLETED, PaymentStatus.REJECTED):
            return payment.status
        await asyncio.sleep(0.05)
    raise AssertionError(f"payment {payment_id} is still {payment.status}")


def only_error(response: httpx.Response) -> dict[str, str]:
    errors = response.json()["Errors"]
    assert len(errors) == 1, errors
    error: dict[str, str] = errors[0]
    return error
