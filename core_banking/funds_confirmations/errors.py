"""Funds confirmation errors."""

from __future__ import annotations

from core_banking.errors import FieldError


class InvalidFundsConfirmation(FieldError):
    """A funds confirmation request refused; `field` names the part at fault as the Open Banking request spells it."""

    code = "invalid_funds_confirmation"
    title = "The funds confirmation request is invalid"
