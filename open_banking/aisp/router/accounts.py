"""Accounts, their balances, products and parties, read with the PSU's token through its consent."""

from __future__ import annotations

from fastapi import Request

from open_banking.aisp.auth import AccountsReader
from open_banking.aisp.router.common import READ_ERRORS, AccountIdPath, one_page, router
from open_banking.aisp.schemas import OBReadAccount6, OBReadBalance1, OBReadParty2, OBReadParty3, OBReadProduct2
from open_banking.aisp.schemas.accounts import OBReadAccount6Data, OBReadProduct2Data
from open_banking.aisp.schemas.balances import OBReadBalance1Data
from open_banking.aisp.schemas.parties import OBReadParty2Data, OBReadParty3Data
from open_banking.aisp.service import information
from open_banking.dependencies import CoreBankingDep, SelfUrlDep, public_url


def _account_url(request: Request) -> str:
    """The account resource a sub-resource's request names: its path without the last segment."""
    return public_url(request, request.url.path.rsplit("/", 1)[0])


@router.get(
    "/accounts",
    operation_id="GetAccounts",
    summary="Get Accounts",
    tags=["Accounts"],
    response_model=OBReadAccount6,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_accounts(reader: AccountsReader, core_banking: CoreBankingDep, self_url: SelfUrlDep) -> OBReadAccount6:
    found = await information.accounts(core_banking, reader)
    return OBReadAccount6(Data=OBReadAccount6Data(Account=found), **one_page(self_url))


@router.get(
    "/accounts/{AccountId}",
    operation_id="GetAccountsAccountId",
    summary="Get Accounts",
    tags=["Accounts"],
    response_model=OBReadAccount6,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_account(
    account_id: AccountIdPath, reader: AccountsReader, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBReadAccount6:
    found = await information.accounts(core_banking, reader, information.covered_account(account_id))
    return OBReadAccount6(Data=OBReadAccount6Data(Account=found), **one_page(self_url))


@router.get(
    "/balances",
    operation_id="GetBalances",
    summary="Get Balances",
    tags=["Balances"],
    response_model=OBReadBalance1,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_balances(reader: AccountsReader, core_banking: CoreBankingDep, self_url: SelfUrlDep) -> OBReadBalance1:
    found = await information.balances(core_banking, reader)
    return OBReadBalance1(Data=OBReadBalance1Data(Balance=found), **one_page(self_url))


@router.get(
    "/accounts/{AccountId}/balances",
    operation_id="GetAccountsAccountIdBalances",
    summary="Get Balances",
    tags=["Balances"],
    response_model=OBReadBalance1,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_account_balances(
    account_id: AccountIdPath, reader: AccountsReader, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBReadBalance1:
    found = await information.balances(core_banking, reader, information.covered_account(account_id))
    return OBReadBalance1(Data=OBReadBalance1Data(Balance=found), **one_page(self_url))


@router.get(
    "/products",
    operation_id="GetProducts",
    summary="Get Products",
    tags=["Products"],
    response_model=OBReadProduct2,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_products(reader: AccountsReader, core_banking: CoreBankingDep, self_url: SelfUrlDep) -> OBReadProduct2:
    found = await information.products(core_banking, reader)
    return OBReadProduct2(Data=OBReadProduct2Data(Product=found), **one_page(self_url))


@router.get(
    "/accounts/{AccountId}/product",
    operation_id="GetAccountsAccountIdProduct",
    summary="Get Products",
    tags=["Products"],
    response_model=OBReadProduct2,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_account_product(
    account_id: AccountIdPath, reader: AccountsReader, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBReadProduct2:
    found = await information.products(core_banking, reader, information.covered_account(account_id))
    return OBReadProduct2(Data=OBReadProduct2Data(Product=found), **one_page(self_url))


@router.get(
    "/party",
    operation_id="GetParty",
    summary="Get Parties",
    tags=["Parties"],
    response_model=OBReadParty2,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_party(reader: AccountsReader, core_banking: CoreBankingDep, self_url: SelfUrlDep) -> OBReadParty2:
    party = await information.psu_party(core_banking, reader)
    return OBReadParty2(Data=OBReadParty2Data(Party=party), **one_page(self_url))


@router.get(
    "/accounts/{AccountId}/party",
    operation_id="GetAccountsAccountIdParty",
    summary="Get Parties",
    tags=["Parties"],
    response_model=OBReadParty2,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_account_party(
    account_id: AccountIdPath,
    reader: AccountsReader,
    core_banking: CoreBankingDep,
    request: Request,
    self_url: SelfUrlDep,
) -> OBReadParty2:
    covered = information.covered_account(account_id)
    party = await information.account_holder(core_banking, reader, covered, _account_url(request))
    return OBReadParty2(Data=OBReadParty2Data(Party=party), **one_page(self_url))


@router.get(
    "/accounts/{AccountId}/parties",
    operation_id="GetAccountsAccountIdParties",
    summary="Get Parties",
    tags=["Parties"],
    response_model=OBReadParty3,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
)
async def get_account_parties(
    account_id: AccountIdPath,
    reader: AccountsReader,
    core_banking: CoreBankingDep,
    request: Request,
    self_url: SelfUrlDep,
) -> OBReadParty3:
    covered = information.covered_account(account_id)
    holder = await information.account_holder(core_banking, reader, covered, _account_url(request))
    return OBReadParty3(Data=OBReadParty3Data(Party=[holder]), **one_page(self_url))
