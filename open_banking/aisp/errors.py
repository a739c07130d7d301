"""Errors of the Account and Transaction API."""

from __future__ import annotations

from open_banking.errors import Forbidden, ResourceNotFound


class AccountAccessConsentNotFound(ResourceNotFound):
    def __init__(self) -> None:
        super().__init__("no account access consent has this id", "ConsentId")


class ConsentOfAnotherTpp(Forbidden):
    """R/W API Profile, "403 (Forbidden)": a resource id of another TPP is refused, not reported unknown."""

    def __init__(self) -> None:
        super().__init__("the consent belongs to another TPP", "ConsentId")
