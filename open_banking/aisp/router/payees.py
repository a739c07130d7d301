"""Beneficiaries, standing orders, scheduled payments and direct debits, behind the same checks.

The consent must be in force, grant the list's permission and cover the account asked for, as for any
other resource. Beneficiaries are the customer's payees, listed under each account of the consent (a UK
customer pays their payees from any of their accounts). Standing orders and scheduled payments are the
payment orders still to pay from the consent's accounts, whoever set them up. Core banking keeps no direct
debits yet, so that list answers empty, never 404.
"""

from __future__ import annotations

import uuid

from core_banking.facade import AccountAccessDetails, CoreBanking, OrderKind, OrderRecord, Permission
from open_banking.aisp.auth import AccountsReader, ConsentReader
from open_banking.aisp.errors import information_errors
from open_banking.aisp.router.common import READ_ERRORS, AccountIdPath, one_page, router
from open_banking.aisp.schemas import (
    OBReadBeneficiary5,
    OBReadDirectDebit2,
    OBReadScheduledPayment3,
    OBReadStandingOrder6,
)
from open_banking.aisp.schemas.payees import (
    OBBeneficiary5,
    OBReadBeneficiary5Data,
    OBReadDirectDebit2Data,
    OBReadScheduledPayment3Data,
    OBReadStandingOrder6Data,
    OBScheduledPayment3,
    OBStandingOrder6,
)
from open_banking.aisp.service import information
from open_banking.dependencies import CoreBankingDep, SelfUrlDep


async def _orders(
    core_banking: CoreBanking, reader: ConsentReader, kind: OrderKind, account_id: uuid.UUID | None
) -> tuple[list[OrderRecord], bool]:
    """The consent's orders of `kind` (of the account asked for), and whether its permission is the Detail one."""
    needs, detail = _PERMISSIONS[kind]
    consent = await information.consent_in_force(core_banking, reader, needs, account_id)
    with information_errors():
        orders = await core_banking.consent_payment_orders(consent.id, reader.client_id, account_id, kind)
    assert isinstance(consent.details, AccountAccessDetails)  # an account access consent, checked above
    return orders, detail in consent.details.permissions


_PERMISSIONS = {
    OrderKind.SCHEDULED: (information.SCHEDULED_PAYMENTS, Permission.READ_SCHEDULED_PAYMENTS_DETAIL),
    OrderKind.STANDING_ORDER: (information.STANDING_ORDERS, Permission.READ_STANDING_ORDERS_DETAIL),
}


async def _standing_orders(
    core_banking: CoreBanking, reader: ConsentReader, account_id: uuid.UUID | None, self_url: str
) -> OBReadStandingOrder6:
    orders, detail = await _orders(core_banking, reader, OrderKind.STANDING_ORDER, account_id)
    data = OBReadStandingOrder6Data(StandingOrder=[OBStandingOrder6.of(order, detail=detail) for order in orders])
    return OBReadStandingOrder6(Data=data, **one_page(self_url))


async def _scheduled_payments(
    core_banking: CoreBanking, reader: ConsentReader, account_id: uuid.UUID | None, self_url: str
) -> OBReadScheduledPayment3:
    orders, detail = await _orders(core_banking, reader, OrderKind.SCHEDULED, account_id)
    payments = [OBScheduledPayment3.of(order, detail=detail) for order in orders]
    return OBReadScheduledPayment3(Data=OBReadScheduledPayment3Data(ScheduledPayment=payments), **one_page(self_url))


async def _beneficiaries(
    core_banking: CoreBanking, reader: ConsentReader, account_id: uuid.UUID | None, self_url: str
) -> OBReadBeneficiary5:
    found, detail = await information.beneficiaries(core_banking, reader, account_id)
    data = OBReadBeneficiary5Data(Beneficiary=[OBBeneficiary5.of(beneficiary, detail=detail) for beneficiary in found])
    return OBReadBeneficiary5(Data=data, **one_page(self_url))


@router.get(
    "/beneficiaries",
    operation_id="GetBeneficiaries",
    summary="Get Beneficiaries",
    tags=["Beneficiaries"],
    response_model=OBReadBeneficiary5,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_beneficiaries(
    reader: AccountsReader, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBReadBeneficiary5:
    return await _beneficiaries(core_banking, reader, None, self_url)


@router.get(
    "/accounts/{AccountId}/beneficiaries",
    operation_id="GetAccountsAccountIdBeneficiaries",
    summary="Get Beneficiaries",
    tags=["Beneficiaries"],
    response_model=OBReadBeneficiary5,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_account_beneficiaries(
    account_id: AccountIdPath, reader: AccountsReader, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBReadBeneficiary5:
    return await _beneficiaries(core_banking, reader, information.covered_account(account_id), self_url)


@router.get(
    "/standing-orders",
    operation_id="GetStandingOrders",
    summary="Get Standing Orders",
    tags=["Standing Orders"],
    response_model=OBReadStandingOrder6,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_standing_orders(
    reader: AccountsReader, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBReadStandingOrder6:
    return await _standing_orders(core_banking, reader, None, self_url)


@router.get(
    "/accounts/{AccountId}/standing-orders",
    operation_id="GetAccountsAccountIdStandingOrders",
    summary="Get Standing Orders",
    tags=["Standing Orders"],
    response_model=OBReadStandingOrder6,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_account_standing_orders(
    account_id: AccountIdPath, reader: AccountsReader, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBReadStandingOrder6:
    return await _standing_orders(core_banking, reader, information.covered_account(account_id), self_url)


@router.get(
    "/scheduled-payments",
    operation_id="GetScheduledPayments",
    summary="Get Scheduled Payments",
    tags=["Scheduled Payments"],
    response_model=OBReadScheduledPayment3,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_scheduled_payments(
    reader: AccountsReader, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBReadScheduledPayment3:
    return await _scheduled_payments(core_banking, reader, None, self_url)


@router.get(
    "/accounts/{AccountId}/scheduled-payments",
    operation_id="GetAccountsAccountIdScheduledPayments",
    summary="Get Scheduled Payments",
    tags=["Scheduled Payments"],
    response_model=OBReadScheduledPayment3,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_account_scheduled_payments(
    account_id: AccountIdPath, reader: AccountsReader, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBReadScheduledPayment3:
    return await _scheduled_payments(core_banking, reader, information.covered_account(account_id), self_url)


@router.get(
    "/direct-debits",
    operation_id="GetDirectDebits",
    summary="Get Direct Debits",
    tags=["Direct Debits"],
    response_model=OBReadDirectDebit2,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_direct_debits(
    reader: AccountsReader, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBReadDirectDebit2:
    await information.payee_list_in_reach(core_banking, reader, information.DIRECT_DEBITS, None)
    return OBReadDirectDebit2(Data=OBReadDirectDebit2Data(), **one_page(self_url))


@router.get(
    "/accounts/{AccountId}/direct-debits",
    operation_id="GetAccountsAccountIdDirectDebits",
    summary="Get Direct Debits",
    tags=["Direct Debits"],
    response_model=OBReadDirectDebit2,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_account_direct_debits(
    account_id: AccountIdPath, reader: AccountsReader, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBReadDirectDebit2:
    covered = information.covered_account(account_id)
    await information.payee_list_in_reach(core_banking, reader, information.DIRECT_DEBITS, covered)
    return OBReadDirectDebit2(Data=OBReadDirectDebit2Data(), **one_page(self_url))
