"""Scheduled payment and standing order consents, and the payment orders they set up, through the facade: in
process and over internal HTTP alike (idempotent creation, one order per consent of its own kind, the AIS read)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from core_banking import facade
from core_banking.facade import (
    ConsentKind,
    ConsentStatus,
    CreditorAccount,
    CreditorScheme,
    Frequency,
    Money,
    OrderKind,
    OrderRequest,
    PaymentOrderDetails,
    Permission,
)
from core_banking.internal.client import HttpCoreBanking
from core_banking.ledger.periods import bank_day
from obank.runtime import Platform
from tests.core_banking.helpers import new_account, new_customer

TPP = "tpp-orders"
ALAN = CreditorAccount("Alan Turing", CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, "40051576262352")
FIRST = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)


@pytest.fixture
async def remote(app: FastAPI) -> AsyncIterator[HttpCoreBanking]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://core-banking")
    client = HttpCoreBanking(http, app.state.internal_assertions, "open_banking")
    yield client
    await client.close()


def standing(**fields: object) -> PaymentOrderDetails:
    """A monthly standing order of six payments, 15.00 then 10.00, from three days on (`fields` replace any)."""
    details = PaymentOrderDetails(
        amount=Money(1_500, "GBP"),
        creditor=ALAN,
        first_payment_at=FIRST,
        frequency=Frequency.MONTHLY,
        payments_total=6,
        recurring_amount=Money(1_000, "GBP"),
        reference="RENT",
        initiation={"as": "sent"},
        risk={},
    )
    return dataclasses.replace(details, **fields)  # type: ignore[arg-type]


def order_of(consent: facade.ConsentRecord, kind: OrderKind) -> OrderRequest:
    details = consent.details
    assert isinstance(details, PaymentOrderDetails) and consent.customer_id is not None
    return OrderRequest(
        kind=kind,
        customer_id=consent.customer_id,
        debtor_account_id=consent.account_ids[0],
        creditor=details.creditor,
        first=details.amount,
        first_date=details.first_date,
        recurring=details.recurring_amount,
        frequency=details.frequency,
        payments_total=details.payments_total,
        reference=details.reference,
        client_id=consent.client_id,
        consent_id=consent.id,
    )


async def test_a_standing_order_consent_sets_up_one_order_in_process_and_over_http(
    platform: Platform, remote: HttpCoreBanking
) -> None:
    local = facade.InProcessCoreBanking(platform.sessions, platform.keyring)
    customer = await new_customer(platform.sessions, platform.keyring)
    account = await new_account(platform.sessions, platform.keyring, customer.id, funded_minor=10_000)

    created = await remote.create_payment_order_consent(
        TPP, ConsentKind.DOMESTIC_STANDING_ORDER, standing(), idempotency_key="so-1"
    )
    again = await local.create_payment_order_consent(
        TPP, ConsentKind.DOMESTIC_STANDING_ORDER, standing(), idempotency_key="so-1"
    )
    assert again.id == created.id and created.id.startswith("soc-")
    assert await remote.get_consent(created.id) == await local.get_consent(created.id)
    with pytest.raises(facade.IdempotencyKeyReused):
        await remote.create_payment_order_consent(
            TPP, ConsentKind.DOMESTIC_STANDING_ORDER, standing(reference="OTHER"), idempotency_key="so-1"
        )
    with pytest.raises(facade.InvalidConsent) as refused:
        await remote.create_payment_order_consent(
            TPP, ConsentKind.DOMESTIC_STANDING_ORDER, standing(payments_total=0), idempotency_key="so-2"
        )
    assert refused.value.field == "Data.Initiation.NumberOfPayments"

    authorised = await remote.authorise_consent(created.id, customer_id=customer.id, account_ids=[account.id])
    # A consent of another kind never sets up this order; the right one does, once per key.
    with pytest.raises(facade.ConsentNotFound):
        await remote.create_payment_order(order_of(authorised, OrderKind.SCHEDULED), idempotency_key="o-0")
    order = await remote.create_payment_order(order_of(authorised, OrderKind.STANDING_ORDER), idempotency_key="o-1")
    replay = await local.create_payment_order(order_of(authorised, OrderKind.STANDING_ORDER), idempotency_key="o-1")
    assert replay == order and order.consent_id == created.id and order.client_id == TPP
    assert (await local.get_consent(created.id)).status is ConsentStatus.CONSUMED
    with pytest.raises(facade.ConsentNotAuthorised):
        await remote.create_payment_order(order_of(authorised, OrderKind.STANDING_ORDER), idempotency_key="o-2")
    assert await remote.get_payment_order(order.id, client_id=TPP) == order
    with pytest.raises(facade.PaymentOrderNotFound):
        await remote.get_payment_order(order.id, client_id="someone-else")

    reading = await local.create_account_access_consent(
        "tpp-ais", facade.AccountAccessDetails((Permission.READ_STANDING_ORDERS_BASIC,))
    )
    await local.authorise_consent(reading.id, customer_id=customer.id, account_ids=[account.id])
    listed = await remote.consent_payment_orders(reading.id, "tpp-ais", account.id, OrderKind.STANDING_ORDER)
    assert [o.id for o in listed] == [order.id]
    with pytest.raises(facade.PermissionNotGranted):
        await remote.consent_payment_orders(reading.id, "tpp-ais", None, OrderKind.SCHEDULED)
    with pytest.raises(facade.AccountNotInConsent):
        await remote.consent_payment_orders(reading.id, "tpp-ais", uuid.uuid4(), OrderKind.STANDING_ORDER)


async def test_a_scheduled_payment_consent_is_one_payment_on_a_day_not_past(platform: Platform) -> None:
    local = facade.InProcessCoreBanking(platform.sessions, platform.keyring)
    yesterday = datetime.now(UTC) - timedelta(days=2)
    on_a_date = PaymentOrderDetails(Money(500, "GBP"), ALAN, datetime.now(UTC) + timedelta(days=1))

    consent = await local.create_payment_order_consent(TPP, ConsentKind.DOMESTIC_SCHEDULED_PAYMENT, on_a_date)
    assert consent.id.startswith("spc-") and consent.details == on_a_date
    assert bank_day(on_a_date.first_payment_at) == on_a_date.first_date
    for details, field in (
        (PaymentOrderDetails(Money(500, "GBP"), ALAN, yesterday), "Data.Initiation.RequestedExecutionDateTime"),
        (
            PaymentOrderDetails(Money(0, "GBP"), ALAN, on_a_date.first_payment_at),
            "Data.Initiation.InstructedAmount.Amount",
        ),
        (standing(), "Data.Initiation"),
    ):
        with pytest.raises(facade.InvalidConsent) as refused:
            await local.create_payment_order_consent(TPP, ConsentKind.DOMESTIC_SCHEDULED_PAYMENT, details)
        assert refused.value.field == field
    with pytest.raises(facade.InvalidConsent):
        await local.create_payment_order_consent(TPP, ConsentKind.DOMESTIC_PAYMENT, on_a_date)
