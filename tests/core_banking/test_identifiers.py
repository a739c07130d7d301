"""Account numbers carry a check digit; IBANs pass ISO 13616 mod-97."""

from __future__ import annotations

from core_banking.accounts.identifiers import (
    SORT_CODE,
    account_number_from_serial,
    account_number_is_valid,
    format_sort_code,
    gb_iban,
    iban_is_valid,
)


def test_published_iban_examples_validate_and_corruptions_do_not() -> None:
    # Examples from the IBAN registry (SWIFT) for the United Kingdom and Germany.
    assert iban_is_valid("GB82 WEST 1234 5698 7654 32")
    assert iban_is_valid("DE89370400440532013000")
    assert not iban_is_valid("GB82WEST12345698765433")
    assert not iban_is_valid("GB28WEST12345698765432")
    assert not iban_is_valid("not an iban")


def test_issued_ibans_pass_mod_97_and_embed_the_sort_code_and_number() -> None:
    for serial in (1, 42, 1_234_567, 9_999_999):
        number = account_number_from_serial(serial)
        iban = gb_iban(SORT_CODE, number)
        assert iban_is_valid(iban)
        assert len(iban) == 22
        assert iban.startswith("GB") and iban.endswith(SORT_CODE + number)


def test_check_digit_catches_every_single_digit_error_and_adjacent_swaps() -> None:
    number = account_number_from_serial(1_234_567)
    assert account_number_is_valid(number)
    for position in range(8):
        for digit in "0123456789":
            if digit != number[position]:
                assert not account_number_is_valid(number[:position] + digit + number[position + 1 :])
    swapped = number[1] + number[0] + number[2:]
    assert swapped == number or not account_number_is_valid(swapped)
    assert not account_number_is_valid("1234567")
    assert not account_number_is_valid("1234567a")


def test_sort_code_is_shown_with_dashes() -> None:
    assert format_sort_code("040040") == "04-00-40"
