"""What account information requests say in their query string: date filters, and pages to follow.

R/W API Profile, "Filtering" and "Date Formats": a date-time filter is ISO 8601 without a time zone ("the
ASPSP must ignore the timezone component" when one is sent), a date alone meaning its midnight; the bank's
data are kept in UTC. "Pagination": Links.Next and Links.Prev carry core banking's opaque cursors, signed
and bound to the consent and the choice of account, beside the request's own filters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request

from core_banking.facade import TransactionPage
from obank.inputs import EARLIEST_DATE, LATEST_DATE
from open_banking import schemas as envelope
from open_banking.aisp.errors import PAGE_PARAMETER
from open_banking.dependencies import public_url
from open_banking.errors import FieldInvalid, FieldInvalidDate

# R/W API Profile, "Pagination": at least 25 records a page (but on the last), at most 1000.
TRANSACTIONS_PER_PAGE = 100


def query_moment(value: str | None, name: str) -> datetime | None:
    """A date-time filter as the bank reads it: in UTC, whatever zone it names; a date alone at 00:00:00."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FieldInvalidDate("not an ISO 8601 date or date-time", name) from None
    if not EARLIEST_DATE <= moment.date() <= LATEST_DATE:
        raise FieldInvalidDate(f"dates run from {EARLIEST_DATE} to {LATEST_DATE}", name)
    return moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """An inclusive span of time a list is filtered on; either end may be open."""

    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def of(cls, start: str | None, end: str | None, *, start_name: str, end_name: str) -> Window:
        window = cls(query_moment(start, start_name), query_moment(end, end_name))
        if window.start is not None and window.end is not None and window.start > window.end:
            raise FieldInvalid(f"{end_name} is before {start_name}", end_name)
        return window


async def transactions_per_page() -> int:
    return TRANSACTIONS_PER_PAGE


# How many transactions a page holds (a dependency, so that tests page through a short history).
TransactionsPerPage = Annotated[int, Depends(transactions_per_page)]


def page_links(
    request: Request, self_url: str, page: TransactionPage, filters: Mapping[str, str | None]
) -> envelope.Links:
    """Links.Self, and Next (older) and Prev (newer) with the request's filters and the page's cursors."""
    kept = {name: value for name, value in filters.items() if value is not None}
    base = public_url(request, request.url.path)

    def at(cursor: str | None) -> str | None:
        return None if cursor is None else f"{base}?{urlencode({**kept, PAGE_PARAMETER: cursor})}"

    return envelope.Links(Self=self_url, Next=at(page.next_cursor), Prev=at(page.prev_cursor))
