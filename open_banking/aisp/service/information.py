"""Account information through the consent behind the PSU's access token, over core banking's facade.

Core banking checks each read it serves (the consent is the TPP's, authorised, grants the data cluster,
covers the account). This layer reads the consent first, with the same rules and the PSU's identity
besides: to choose what the granted permissions show (Basic or Detail), to refuse every resource in the
same words, and to guard those core banking has no read for (products; direct debits, empty until core
banking keeps mandates).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from core_banking.facade import (
    AccountAccessDetails,
    BeneficiaryRecord,
    ConsentKind,
    ConsentRecord,
    ConsentStatus,
    CoreBanking,
    Permission,
    TransactionPage,
)
from open_banking.aisp.auth import ConsentReader
from open_banking.aisp.errors import (
    AccountNotCovered,
    ConsentNotUsable,
    PermissionMissing,
    information_errors,
    refused_consent,
)
from open_banking.aisp.queries import Window
from open_banking.aisp.schemas import (
    OBAccount6,
    OBCashBalance,
    OBParty2,
    OBProduct,
    OBStatement2,
    OBTransaction6,
)
from open_banking.aisp.schemas.transactions import pending_transaction

P = Permission
ACCOUNTS = (P.READ_ACCOUNTS_BASIC, P.READ_ACCOUNTS_DETAIL)
BALANCES = (P.READ_BALANCES,)
PARTY_PSU = (P.READ_PARTY_PSU,)
PARTY = (P.READ_PARTY,)
TRANSACTIONS = (P.READ_TRANSACTIONS_BASIC, P.READ_TRANSACTIONS_DETAIL)
STATEMENTS = (P.READ_STATEMENTS_BASIC, P.READ_STATEMENTS_DETAIL)
STATEMENT_FILE = (P.READ_STATEMENTS_DETAIL,)
BENEFICIARIES = (P.READ_BENEFICIARIES_BASIC, P.READ_BENEFICIARIES_DETAIL)
STANDING_ORDERS = (P.READ_STANDING_ORDERS_BASIC, P.READ_STANDING_ORDERS_DETAIL)
SCHEDULED_PAYMENTS = (P.READ_SCHEDULED_PAYMENTS_BASIC, P.READ_SCHEDULED_PAYMENTS_DETAIL)
DIRECT_DEBITS = (P.READ_DIRECT_DEBITS,)
PRODUCTS = (P.READ_PRODUCTS,)


def covered_account(account_id: str) -> uuid.UUID:
    """The account a path names; one no consent could cover (not an id this bank writes) is refused alike."""
    try:
        parsed = uuid.UUID(account_id)
    except ValueError:
        raise AccountNotCovered from None
    if str(parsed) != account_id:
        raise AccountNotCovered
    return parsed


def _permissions(consent: ConsentRecord) -> frozenset[Permission]:
    assert isinstance(consent.details, AccountAccessDetails)  # checked by kind
    return frozenset(consent.details.permissions)


async def consent_in_force(
    core_banking: CoreBanking,
    reader: ConsentReader,
    needs: Sequence[Permission] = (),
    account_id: uuid.UUID | None = None,
) -> ConsentRecord:
    """The reader's consent, provided it is this TPP's and this PSU's, authorised, granting one of `needs`,
    and covering `account_id` when one is asked for."""
    with information_errors():
        consent = await core_banking.get_consent(reader.consent_id)
    if consent.kind is not ConsentKind.ACCOUNT_ACCESS or consent.client_id != reader.client_id:
        raise ConsentNotUsable
    if consent.status is not ConsentStatus.AUTHORISED:
        raise refused_consent(consent.status)
    if str(consent.customer_id) != reader.customer_id:
        raise ConsentNotUsable
    if needs and not _permissions(consent) & set(needs):
        raise PermissionMissing("this needs one of: " + ", ".join(p.value for p in needs))
    if account_id is not None and account_id not in consent.account_ids:
        raise AccountNotCovered
    return consent


async def accounts(
    core_banking: CoreBanking, reader: ConsentReader, account_id: uuid.UUID | None = None
) -> list[OBAccount6]:
    """The consent's accounts (or the one asked for), with their identifiers under ReadAccountsDetail."""
    consent = await consent_in_force(core_banking, reader, ACCOUNTS, account_id)
    detail = P.READ_ACCOUNTS_DETAIL in _permissions(consent)
    with information_errors():
        records = await core_banking.consent_accounts(consent.id, reader.client_id, account_id)
    return [OBAccount6.of(record, detail=detail) for record in records]


async def balances(
    core_banking: CoreBanking, reader: ConsentReader, account_id: uuid.UUID | None = None
) -> list[OBCashBalance]:
    """Each account's booked and available balances now."""
    consent = await consent_in_force(core_banking, reader, BALANCES, account_id)
    with information_errors():
        found = await core_banking.consent_account_balances(consent.id, reader.client_id, account_id)
    return [balance for account in found for balance in OBCashBalance.all_of(account)]


async def transactions(
    core_banking: CoreBanking,
    reader: ConsentReader,
    account_id: uuid.UUID | None,
    booked: Window,
    cursor: str | None,
    per_page: int,
) -> tuple[list[OBTransaction6], TransactionPage]:
    """A page of booked lines newest first, within the consent's window and `booked`, as the consent grants."""
    consent = await consent_in_force(core_banking, reader, TRANSACTIONS, account_id)
    detail = P.READ_TRANSACTIONS_DETAIL in _permissions(consent)
    with information_errors():
        page = await core_banking.consent_account_transactions(
            consent.id,
            reader.client_id,
            account_id,
            booked_from=booked.start,
            booked_to=booked.end,
            cursor=cursor,
            limit=per_page,
        )
    booked_lines = [OBTransaction6.of(line, detail=detail) for line in page.lines]
    # Core banking lists pending (held) debits only where the consent grants debits.
    pending = [pending_transaction(line, detail=detail) for line in page.pending]
    return pending + booked_lines, page


async def statements(
    core_banking: CoreBanking, reader: ConsentReader, account_id: uuid.UUID | None, period: Window
) -> list[OBStatement2]:
    """The monthly statements of one account of the consent, or of each in turn, overlapping `period`."""
    consent = await consent_in_force(core_banking, reader, STATEMENTS, account_id)
    detail = P.READ_STATEMENTS_DETAIL in _permissions(consent)
    found = []
    with information_errors():
        for covered in consent.account_ids if account_id is None else (account_id,):
            found += await core_banking.consent_statements(
                consent.id, reader.client_id, covered, statements_from=period.start, statements_to=period.end
            )
    return [OBStatement2.of(statement, detail=detail) for statement in found]


async def statement(
    core_banking: CoreBanking, reader: ConsentReader, account_id: uuid.UUID, statement_id: str
) -> OBStatement2:
    consent = await consent_in_force(core_banking, reader, STATEMENTS, account_id)
    detail = P.READ_STATEMENTS_DETAIL in _permissions(consent)
    with information_errors():
        found = await core_banking.consent_statement(consent.id, reader.client_id, account_id, statement_id)
    return OBStatement2.of(found, detail=detail)


async def statement_file(
    core_banking: CoreBanking, reader: ConsentReader, account_id: uuid.UUID, statement_id: str
) -> bytes:
    """The statement as a PDF (ReadStatementsDetail: it shows every line and the holder's address)."""
    consent = await consent_in_force(core_banking, reader, STATEMENT_FILE, account_id)
    with information_errors():
        return await core_banking.consent_statement_file(consent.id, reader.client_id, account_id, statement_id)


async def psu_party(core_banking: CoreBanking, reader: ConsentReader) -> OBParty2:
    """The PSU who authorised the consent (ReadPartyPSU)."""
    consent = await consent_in_force(core_banking, reader, PARTY_PSU)
    with information_errors():
        party = await core_banking.consent_party(consent.id, reader.client_id)
    return OBParty2.person(party)


async def account_holder(
    core_banking: CoreBanking, reader: ConsentReader, account_id: uuid.UUID, account_url: str
) -> OBParty2:
    """The holder of an account of the consent (ReadParty), related to the account at `account_url`."""
    consent = await consent_in_force(core_banking, reader, PARTY, account_id)
    with information_errors():
        party = await core_banking.consent_party(consent.id, reader.client_id, account_id)
    return OBParty2.holder(party, str(account_id), account_url)


async def products(
    core_banking: CoreBanking, reader: ConsentReader, account_id: uuid.UUID | None = None
) -> list[OBProduct]:
    """The product each account of the consent is (ReadProducts): its type, from the customer's own accounts.

    Core banking reads no account for ReadProducts alone; the consent is checked here, then the PSU's
    accounts are read and only those the consent covers are shown.
    """
    consent = await consent_in_force(core_banking, reader, PRODUCTS, account_id)
    assert consent.customer_id is not None  # authorised
    wanted = consent.account_ids if account_id is None else (account_id,)
    with information_errors():
        owned = {account.id: account for account in await core_banking.list_customer_accounts(consent.customer_id)}
    return [OBProduct.of(owned[covered]) for covered in wanted if covered in owned]


async def beneficiaries(
    core_banking: CoreBanking, reader: ConsentReader, account_id: uuid.UUID | None
) -> tuple[list[BeneficiaryRecord], bool]:
    """The customer's payees under each account of the consent (or the one asked for), and whether the consent
    shows their accounts (ReadBeneficiariesDetail)."""
    consent = await consent_in_force(core_banking, reader, BENEFICIARIES, account_id)
    with information_errors():
        found = await core_banking.consent_beneficiaries(consent.id, reader.client_id, account_id)
    return found, P.READ_BENEFICIARIES_DETAIL in _permissions(consent)


async def payee_list_in_reach(
    core_banking: CoreBanking, reader: ConsentReader, needs: Sequence[Permission], account_id: uuid.UUID | None
) -> None:
    """The consent grants the list asked for (on the account asked for) that core banking keeps nothing of yet
    (direct debits)."""
    await consent_in_force(core_banking, reader, needs, account_id)
