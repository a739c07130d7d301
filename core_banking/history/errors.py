"""Account history errors."""

from __future__ import annotations

from core_banking.errors import DomainError


class InvalidCursor(DomainError):
    status = 400
    code = "invalid_cursor"
    title = "The pagination cursor is not one this account's history issued"

    def __init__(self) -> None:
        super().__init__("start again without a cursor, then follow next_cursor")


class InvalidFilter(DomainError):
    status = 422
    code = "invalid_filter"
    title = "The filters contradict each other"


class MomentInFuture(DomainError):
    status = 422
    code = "moment_in_future"
    title = "The moment asked for has not happened yet"
