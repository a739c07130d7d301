"""Demo fraud case for `obank serve` and `obank demo`: an account listed as a mule, and the first demo customer's
payment to it, which the payment saga stops and raises as an alert for the demo fraud analyst to work."""

from __future__ import annotations

import uuid

from core_banking.facade import CoreBanking, CreditorAccount, CreditorScheme, Money, PaymentInitiation
from fraud.features.service import mark_mule
from obank.actor import Actor
from obank.unit_of_work import UnitsOfWork

# Modulus-valid, and no account of the simulated scheme's directory: payments to it never reach the scheme.
DEMO_MULE_SORT_CODE = "601613"
DEMO_MULE_ACCOUNT_NUMBER = "40000001"
DEMO_MULE_NAME = "Quick Crypto Returns Ltd"
_PAYMENT_KEY = "demo-fraud-payment-to-a-listed-mule"


async def seed_demo_fraud(
    units: UnitsOfWork, core_banking: CoreBanking, customer_id: uuid.UUID, account_id: uuid.UUID
) -> None:
    """List the demo mule (once) and make the customer's payment to it (once, by its idempotency key)."""
    async with units.begin(Actor.system("fraud.demo")) as uow:
        await mark_mule(
            uow,
            DEMO_MULE_SORT_CODE + DEMO_MULE_ACCOUNT_NUMBER,
            reason="Demo: reported by the receiving bank as a money mule",
        )
    initiation = PaymentInitiation(
        customer_id=customer_id,
        debtor_account_id=account_id,
        amount=Money(45_000, "GBP"),
        creditor=CreditorAccount(
            name=DEMO_MULE_NAME,
            scheme=CreditorScheme.SORT_CODE_ACCOUNT_NUMBER,
            identification=DEMO_MULE_SORT_CODE + DEMO_MULE_ACCOUNT_NUMBER,
        ),
        reference="Investment 2291",
    )
    await core_banking.initiate_payment(initiation, idempotency_key=_PAYMENT_KEY)
