"""Customer search errors."""

from __future__ import annotations

from core_banking.errors import FieldError


class InvalidCustomerSearch(FieldError):
    code = "invalid_search"
    title = "Search by exactly one of: name, email, iban, or sort_code with account_number"
