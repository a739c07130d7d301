"""Beneficiaries, standing orders, scheduled payments and direct debits: empty lists, behind the same checks.

The consent must be in force, grant the list's permission and cover the account asked for, as for any
other resource; core banking keeps none of these yet, so each answers its empty list, never 404.
"""

from __future__ import annotations

from open_banking.aisp.auth import AccountsReader
from open_banking.aisp.router.common import READ_ERRORS, AccountIdPath, one_page, router
from open_banking.aisp.schemas import (
    OBReadBeneficiary5,
    OBReadDirectDebit2,
    OBReadScheduledPayment3,
    OBReadStandingOrder6,
)
from open_banking.aisp.schemas.payees import (
    OBReadBeneficiary5Data,
    OBReadDirectDebit2Data,
    OBReadScheduledPayment3Data,
    OBReadStandingOrder6Data,
)
from open_banking.aisp.service import information
from open_banking.dependencies import CoreBankingDep, SelfUrlDep


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
    await information.payee_list_in_reach(core_banking, reader, information.BENEFICIARIES, None)
    return OBReadBeneficiary5(Data=OBReadBeneficiary5Data(), **one_page(self_url))


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
    covered = information.covered_account(account_id)
    await information.payee_list_in_reach(core_banking, reader, information.BENEFICIARIES, covered)
    return OBReadBeneficiary5(Data=OBReadBeneficiary5Data(), **one_page(self_url))


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
    await information.payee_list_in_reach(core_banking, reader, information.STANDING_ORDERS, None)
    return OBReadStandingOrder6(Data=OBReadStandingOrder6Data(), **one_page(self_url))


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
    covered = information.covered_account(account_id)
    await information.payee_list_in_reach(core_banking, reader, information.STANDING_ORDERS, covered)
    return OBReadStandingOrder6(Data=OBReadStandingOrder6Data(), **one_page(self_url))


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
    await information.payee_list_in_reach(core_banking, reader, information.SCHEDULED_PAYMENTS, None)
    return OBReadScheduledPayment3(Data=OBReadScheduledPayment3Data(), **one_page(self_url))


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
    covered = information.covered_account(account_id)
    await information.payee_list_in_reach(core_banking, reader, information.SCHEDULED_PAYMENTS, covered)
    return OBReadScheduledPayment3(Data=OBReadScheduledPayment3Data(), **one_page(self_url))


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
