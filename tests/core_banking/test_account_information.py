"""Account information through a consent: only an authorised consent of the client, only its accounts, only the
data its permissions grant, only within its transaction window; cursors bound to the consent."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from audit.trail import platform_units
from core_banking import facade
from core_banking.accounts import service as accounts_service
from core_banking.accounts.models import AccountType
from core_banking.accounts.schemas import AccountOpen, AccountRecord
from core_banking.facade import ConsentRecord, Direction, Money, Permission
from core_banking.history import service as history_service
from core_banking.history.schemas import TransactionFilter
from core_banking.ledger import service as ledger
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.core_banking.helpers import STAFF, new_account, new_customer
from tests.core_banking.test_consent_creation import access, funds
from tests.core_banking.test_history import at, deposit, move

CLIENT = "tpp-ais"
P = Permission
EVERYTHING = tuple(p for p in Permission if p is not P.READ_OFFERS)


def core(platform: Platform) -> facade.InProcessCoreBanking:
    return facade.InProcessCoreBanking(platform.sessions, platform.keyring, platform.revocations)


class Bank:
    """Ada's current and savings accounts opened 1 September 2026, a third account of hers, and Bob's."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    async def open(self, customer_id: uuid.UUID, account_type: AccountType, **limits: int) -> AccountRecord:
        async with platform_units(self.platform).begin(STAFF) as uow:
            request = AccountOpen(account_type=account_type, currency="GBP", **limits)
            return await accounts_service.open_account(uow, customer_id, request, now=at(9, 1))

    async def build(self) -> Bank:
        platform = self.platform
        self.ada = await new_customer(platform.sessions, platform.keyring, full_name="Ada Lovelace")
        self.bob = await new_customer(platform.sessions, platform.keyring)
        self.current = await self.open(self.ada.id, AccountType.CHECKING, overdraft_limit_minor=5_000)
        self.savings = await self.open(self.ada.id, AccountType.SAVINGS)
        self.third = await new_account(platform.sessions, platform.keyring, self.ada.id)
        self.bobs = await new_account(platform.sessions, platform.keyring, self.bob.id, funded_minor=100)
        await deposit(platform, self.current.id, 10_000, at(9, 10), "Salary")
        await move(platform, self.current.id, self.savings.id, 2_500, at(9, 20), "Rent")
        await deposit(platform, self.current.id, 1_000, at(10, 5), "Bonus")
        await move(platform, self.savings.id, self.current.id, 200, at(10, 21), "Refund")
        await deposit(platform, self.current.id, 300, at(11, 15), "Interest")
        return self

    async def consent(
        self, *permissions: Permission, accounts: tuple[uuid.UUID, ...] = (), **window: datetime
    ) -> ConsentRecord:
        bank = core(self.platform)
        consent = await bank.create_account_access_consent(CLIENT, access(*(permissions or EVERYTHING), **window))
        chosen = list(accounts or (self.current.id, self.savings.id))
        return await bank.authorise_consent(consent.id, customer_id=self.ada.id, account_ids=chosen)


@pytest.fixture
async def ada(platform: Platform) -> Bank:
    return await Bank(platform).build()


async def test_the_consents_accounts_and_nothing_else(platform: Platform, ada: Bank) -> None:
    consent = await ada.consent(P.READ_ACCOUNTS_DETAIL, P.READ_BALANCES)
    bank = core(platform)

    accounts = await bank.consent_accounts(consent.id, CLIENT)

    assert [a.id for a in accounts] == [ada.current.id, ada.savings.id]
    assert (accounts[0].sort_code, accounts[0].account_number, accounts[0].iban) == (
        ada.current.sort_code,
        ada.current.account_number,
        ada.current.iban,
    )
    assert [a.id for a in await bank.consent_accounts(consent.id, CLIENT, ada.savings.id)] == [ada.savings.id]
    for outside in (ada.third.id, ada.bobs.id, uuid.uuid4()):
        with pytest.raises(facade.AccountNotInConsent):
            await bank.consent_accounts(consent.id, CLIENT, outside)
        with pytest.raises(facade.AccountNotInConsent):
            await bank.consent_account_balances(consent.id, CLIENT, outside)
    with pytest.raises(facade.ConsentNotFound):
        await bank.consent_accounts(consent.id, "tpp-intruder")


async def test_a_consent_that_grants_nothing_now_reads_nothing(platform: Platform, ada: Bank) -> None:
    bank = core(platform)
    awaiting = await bank.create_account_access_consent(CLIENT, access(*EVERYTHING))
    cbpii = await bank.create_funds_confirmation_consent(
        CLIENT, funds(ada.current.sort_code + ada.current.account_number)
    )
    await bank.authorise_consent(cbpii.id, customer_id=ada.ada.id, account_ids=[ada.current.id])

    with pytest.raises(facade.ConsentNotAuthorised):
        await bank.consent_accounts(awaiting.id, CLIENT)
    with pytest.raises(facade.ConsentNotFound):  # a funds confirmation consent reads no account information
        await bank.consent_accounts(cbpii.id, CLIENT)
    with pytest.raises(facade.ConsentNotFound):
        await bank.consent_party(f"aac-{uuid.uuid4()}", CLIENT)


@pytest.mark.parametrize(
    ("permissions", "read"),
    [
        ((P.READ_BALANCES,), "accounts"),
        ((P.READ_ACCOUNTS_BASIC,), "balances"),
        ((P.READ_ACCOUNTS_BASIC,), "transactions"),
        ((P.READ_ACCOUNTS_BASIC, P.READ_PARTY), "party"),
        ((P.READ_ACCOUNTS_BASIC, P.READ_PARTY_PSU), "account party"),
        ((P.READ_ACCOUNTS_BASIC,), "statements"),
        ((P.READ_STATEMENTS_BASIC,), "statement file"),
    ],
)
async def test_each_read_needs_its_permission(
    platform: Platform, ada: Bank, permissions: tuple[Permission, ...], read: str
) -> None:
    consent = await ada.consent(*permissions)
    bank, account_id = core(platform), ada.current.id
    reads: dict[str, Callable[[], Awaitable[object]]] = {
        "accounts": lambda: bank.consent_accounts(consent.id, CLIENT),
        "balances": lambda: bank.consent_account_balances(consent.id, CLIENT),
        "transactions": lambda: bank.consent_account_transactions(consent.id, CLIENT, account_id),
        "party": lambda: bank.consent_party(consent.id, CLIENT),
        "account party": lambda: bank.consent_party(consent.id, CLIENT, account_id),
        "statements": lambda: bank.consent_statements(consent.id, CLIENT, account_id),
        "statement file": lambda: bank.consent_statement_file(consent.id, CLIENT, account_id, "2026-10"),
    }

    with pytest.raises(facade.PermissionNotGranted):
        await reads[read]()


async def test_balances_count_holds_and_the_overdraft(platform: Platform, ada: Bank) -> None:
    async with unit_of_work(platform.sessions) as session:
        await ledger.place_hold(
            session,
            ada.current.id,
            Money(700, "GBP"),
            expires_at=datetime.now(UTC) + timedelta(days=1),
            description="Card",
        )
    consent = await ada.consent(P.READ_BALANCES)

    current, savings = await core(platform).consent_account_balances(consent.id, CLIENT)

    assert current.account_id == ada.current.id
    assert (current.booked, current.available, current.pending, current.overdraft_limit) == (
        Money(9_000, "GBP"),
        Money(13_300, "GBP"),
        Money(700, "GBP"),
        Money(5_000, "GBP"),
    )
    assert savings.booked == Money(2_300, "GBP")


async def test_transactions_stay_within_the_consents_window_and_directions(platform: Platform, ada: Bank) -> None:
    bank = core(platform)
    windowed = await ada.consent(*EVERYTHING, transactions_from=at(9, 15), transactions_to=at(10, 31))
    credits_only = await ada.consent(P.READ_TRANSACTIONS_DETAIL, P.READ_TRANSACTIONS_CREDITS)

    page = await bank.consent_account_transactions(windowed.id, CLIENT, ada.current.id)
    narrower = await bank.consent_account_transactions(
        windowed.id, CLIENT, ada.current.id, booked_from=at(1, 1), booked_to=at(10, 5)
    )
    credits = await bank.consent_account_transactions(credits_only.id, CLIENT, ada.current.id)
    both_accounts = await bank.consent_account_transactions(windowed.id, CLIENT)

    assert [line.description for line in page.lines] == ["Refund", "Bonus", "Rent"]
    assert (page.next_cursor, page.prev_cursor) == (None, None)
    assert [line.description for line in narrower.lines] == ["Bonus", "Rent"]  # both ends inclusive
    assert [line.description for line in credits.lines] == ["Interest", "Refund", "Bonus", "Salary"]
    assert all(line.direction is Direction.CREDIT for line in credits.lines)
    assert [line.description for line in both_accounts.lines] == ["Refund", "Refund", "Bonus", "Rent", "Rent"]
    assert {(line.description, line.account_id) for line in both_accounts.lines} == {
        ("Refund", ada.current.id),
        ("Refund", ada.savings.id),
        ("Bonus", ada.current.id),
        ("Rent", ada.current.id),
        ("Rent", ada.savings.id),
    }


async def test_pages_go_forward_and_back_with_cursors_of_this_consent_only(platform: Platform, ada: Bank) -> None:
    bank = core(platform)
    consent = await ada.consent(P.READ_TRANSACTIONS_BASIC, P.READ_TRANSACTIONS_CREDITS, P.READ_TRANSACTIONS_DEBITS)
    other = await ada.consent(P.READ_TRANSACTIONS_BASIC, P.READ_TRANSACTIONS_CREDITS, P.READ_TRANSACTIONS_DEBITS)

    async def page(cursor: str | None, account_id: uuid.UUID | None = ada.current.id) -> facade.TransactionPage:
        return await bank.consent_account_transactions(consent.id, CLIENT, account_id, cursor=cursor, limit=2)

    pages = [await page(None)]
    while pages[-1].next_cursor:
        pages.append(await page(pages[-1].next_cursor))
    back = [pages[-1]]
    while back[-1].prev_cursor:
        back.append(await page(back[-1].prev_cursor))

    forward = [line.description for p in pages for line in p.lines]
    assert forward == ["Interest", "Refund", "Bonus", "Rent", "Salary"]
    assert pages[0].prev_cursor is None and pages[-1].next_cursor is None
    assert [line.description for p in reversed(back) for line in p.lines] == forward
    cursor = pages[0].next_cursor
    assert cursor is not None
    with pytest.raises(facade.InvalidCursor):  # another consent's
        await bank.consent_account_transactions(other.id, CLIENT, ada.current.id, cursor=cursor)
    with pytest.raises(facade.InvalidCursor):  # another account's, or all accounts'
        await page(cursor, ada.savings.id)
    with pytest.raises(facade.InvalidCursor):
        await page(cursor, None)
    async with unit_of_work(platform.sessions) as session:  # the customer's own history cursor
        own = await history_service.transactions(
            session, platform.keyring, ada.ada.id, ada.current.id, TransactionFilter(), limit=1
        )
    with pytest.raises(facade.InvalidCursor):
        await page(own.next_cursor)
    with pytest.raises(facade.InvalidCursor):
        await page(cursor[:-2] + "AA")


@pytest.mark.parametrize(
    ("booked_from", "booked_to", "limit"),
    [(at(10, 2), at(10, 1), 10), (datetime(2026, 10, 1), None, 10), (None, None, 0), (None, None, 1001)],
)
async def test_bad_transaction_filters_are_refused(
    platform: Platform, ada: Bank, booked_from: datetime | None, booked_to: datetime | None, limit: int
) -> None:
    consent = await ada.consent()

    with pytest.raises(facade.InvalidFilter):
        await core(platform).consent_account_transactions(
            consent.id, CLIENT, ada.current.id, booked_from=booked_from, booked_to=booked_to, limit=limit
        )


async def test_the_party_is_the_psu_or_the_account_holder(platform: Platform, ada: Bank) -> None:
    consent = await ada.consent(P.READ_PARTY, P.READ_PARTY_PSU)
    bank = core(platform)

    psu = await bank.consent_party(consent.id, CLIENT)
    holder = await bank.consent_party(consent.id, CLIENT, ada.savings.id)

    assert psu == holder
    assert (psu.party_id, psu.full_name, psu.email, psu.phone, psu.address) == (
        ada.ada.id,
        "Ada Lovelace",
        ada.ada.email,
        ada.ada.phone,
        ada.ada.address,
    )
    with pytest.raises(facade.AccountNotInConsent):
        await bank.consent_party(consent.id, CLIENT, ada.bobs.id)


async def test_statements_within_the_consents_window(platform: Platform, ada: Bank) -> None:
    bank = core(platform)
    windowed = await ada.consent(*EVERYTHING, transactions_from=at(9, 15), transactions_to=at(10, 31))
    open_ended = await ada.consent(P.READ_STATEMENTS_BASIC)

    listed = await bank.consent_statements(windowed.id, CLIENT, ada.current.id)
    all_months = await bank.consent_statements(open_ended.id, CLIENT, ada.current.id)
    from_november = await bank.consent_statements(open_ended.id, CLIENT, ada.current.id, statements_from=at(11, 2))

    assert [s.id for s in listed] == ["2026-09", "2026-10"]
    september, october = listed
    assert september.start == at(9, 15) and september.opening_balance == Money(10_000, "GBP")
    assert (september.paid_out, september.closing_balance) == (Money(2_500, "GBP"), Money(7_500, "GBP"))
    assert (october.opening_balance, october.paid_in, october.closing_balance) == (
        Money(7_500, "GBP"),
        Money(1_200, "GBP"),
        Money(8_700, "GBP"),
    )
    assert [s.id for s in all_months][:3] == ["2026-09", "2026-10", "2026-11"]
    assert all_months[0].opening_balance == Money(0, "GBP")
    assert from_november[0].id == "2026-11"
    assert await bank.consent_statement(windowed.id, CLIENT, ada.current.id, "2026-10") == october
    for unknown in ("2026-11", "2026-08", "2026-13", "latest", "x" * 50):
        with pytest.raises(facade.StatementNotFound):
            await bank.consent_statement(windowed.id, CLIENT, ada.current.id, unknown)
    pdf = await bank.consent_statement_file(windowed.id, CLIENT, ada.current.id, "2026-10")
    assert pdf.startswith(b"%PDF")
    with pytest.raises(facade.AccountNotInConsent):
        await bank.consent_statements(windowed.id, CLIENT, ada.third.id)
