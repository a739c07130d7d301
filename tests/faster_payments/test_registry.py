"""The scheme's directory: fictitious banks whose account numbers pass the real UK modulus checks."""

from __future__ import annotations

import pytest
import ukmodulus
from sqlalchemy import func, select

from faster_payments.models import AccountStatus, SchemeAccount
from faster_payments.registry import DIRECTORY, ensure_registry, find_account, list_accounts, names_match
from obank.database import unit_of_work
from obank.runtime import Platform

BANK_SORT_CODE = "040075"


@pytest.mark.parametrize("account", DIRECTORY, ids=lambda account: f"{account.sort_code}-{account.account_number}")
def test_every_directory_account_passes_the_modulus_check(account: object) -> None:
    assert ukmodulus.validate_number(account.sort_code, account.account_number)  # type: ignore[attr-defined]


def test_the_modulus_check_is_not_vacuous_for_the_directory_sort_codes() -> None:
    """Each sort code is in VocaLink's table: a mistyped account number fails."""
    for account in DIRECTORY:
        number = account.account_number
        mistyped = number[:-1] + str((int(number[-1]) + 1) % 10)
        assert not ukmodulus.validate_number(account.sort_code, mistyped)


def test_the_directory_is_a_few_banks_with_one_closed_account_and_never_the_banks_own_sort_code() -> None:
    assert 3 <= len({account.bank_name for account in DIRECTORY}) <= 4
    assert len({(account.sort_code, account.account_number) for account in DIRECTORY}) == len(DIRECTORY) >= 10
    assert [account.status for account in DIRECTORY].count(AccountStatus.CLOSED) == 1
    assert all(account.sort_code != BANK_SORT_CODE for account in DIRECTORY)
    # One sort code per bank, not shared between banks.
    assert len({account.sort_code for account in DIRECTORY}) == len({account.bank_name for account in DIRECTORY})


async def test_seeding_is_idempotent(platform: Platform) -> None:
    async with unit_of_work(platform.sessions) as session:
        assert await ensure_registry(session) == len(DIRECTORY)
    async with unit_of_work(platform.sessions) as session:
        assert await ensure_registry(session) == 0
        count = (await session.execute(select(func.count()).select_from(SchemeAccount))).scalar_one()
        listed = await list_accounts(session)
        found = await find_account(session, "309634", "18142912")
    assert count == len(DIRECTORY)
    assert sorted(listed, key=lambda a: (a.sort_code, a.account_number)) == sorted(
        DIRECTORY, key=lambda a: (a.sort_code, a.account_number)
    )
    assert found is not None and found.status is AccountStatus.CLOSED


@pytest.mark.parametrize(
    ("given", "holder", "match"),
    [
        ("ada lovelace", "Ada Lovelace", True),
        ("  ADA   LOVELACE ", "Ada Lovelace", True),
        ("Tim Berners Lee", "Tim Berners-Lee", True),
        ("Brunel Engineering Ltd.", "Brunel Engineering Ltd", True),
        ("Zoë O'Brien", "Zoe OBrien", True),
        ("Ada Byron", "Ada Lovelace", False),
        ("Ada Lovelac", "Ada Lovelace", False),
        ("...", "Ada Lovelace", False),
    ],
)
def test_names_are_compared_ignoring_case_whitespace_and_punctuation(given: str, holder: str, match: bool) -> None:
    assert names_match(given, holder) is match
