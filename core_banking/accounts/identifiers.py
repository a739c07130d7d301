"""The bank's sort code, account numbers with a check digit, and GB IBANs (ISO 13616, mod-97)."""

from __future__ import annotations

import string

# A fictitious UK sort code and bank code for this self-hosted bank; an operator with a real sort code
# changes these two constants (existing accounts keep the identifiers they were issued). 04-00-75 is outside
# every range of VocaLink's modulus table, so other banks accept any of its account numbers.
SORT_CODE = "040075"
BANK_CODE = "OBNK"
COUNTRY_CODE = "GB"
SERIAL_DIGITS = 7


def _luhn_check_digit(payload: str) -> int:
    # Luhn (ISO/IEC 7812-1 annex B): catches every single-digit error and nearly every adjacent swap.
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def account_number_from_serial(serial: int) -> str:
    """An 8-digit account number: the 7-digit serial followed by its Luhn check digit."""
    if not 0 < serial < 10**SERIAL_DIGITS:
        raise ValueError(f"account serial {serial} out of range")
    payload = f"{serial:0{SERIAL_DIGITS}d}"
    return payload + str(_luhn_check_digit(payload))


def account_number_is_valid(number: str) -> bool:
    """Whether `number` is 8 digits whose last is the Luhn check digit of the first seven."""
    if len(number) != SERIAL_DIGITS + 1 or not number.isdigit():
        return False
    return _luhn_check_digit(number[:-1]) == int(number[-1])


def _iban_numeric(rearranged: str) -> int:
    # ISO 13616-1: letters become two digits, A=10 ... Z=35.
    return int("".join(str(int(char, 36)) for char in rearranged))


def gb_iban(sort_code: str, account_number: str) -> str:
    """The GB IBAN of a UK account: GB, two check digits, bank code, sort code, account number."""
    bban = BANK_CODE + sort_code + account_number
    check = 98 - _iban_numeric(bban + COUNTRY_CODE + "00") % 97
    return f"{COUNTRY_CODE}{check:02d}{bban}"


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check: the rearranged IBAN, read as a number, leaves remainder 1."""
    compact = iban.replace(" ", "").upper()
    allowed = set(string.ascii_uppercase + string.digits)
    if len(compact) < 5 or not set(compact) <= allowed or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    return _iban_numeric(compact[4:] + compact[:4]) % 97 == 1


def format_sort_code(sort_code: str) -> str:
    """`040040` as people write it: `04-00-40`."""
    return f"{sort_code[0:2]}-{sort_code[2:4]}-{sort_code[4:6]}"
