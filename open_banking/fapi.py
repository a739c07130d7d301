"""What a TPP says of the PSU on each request (R/W API Profile, "Request Headers"), checked and typed.

`x-fapi-interaction-id` is settled before the app sees the request (`obank.correlation`: the caller's when
it is a UUID, else a new one) and played back on every response. The other three are optional; a service
that audits puts them on its record.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Annotated

from fastapi import Depends, Header

from obank.correlation import current_correlation_id
from open_banking.errors import HeaderInvalid

# The specification's pattern for x-fapi-auth-date, an RFC 7231 IMF-fixdate (UTC also accepted), with `\d`
# spelt [0-9]: the validator's regex engine would take other scripts' digits for `\d`.
HTTP_DATE_PATTERN = (
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4}"
    r" [0-9]{2}:[0-9]{2}:[0-9]{2} (GMT|UTC)$"
)
MAX_USER_AGENT = 1024
MAX_IP_ADDRESS = 45  # the longest textual IPv6 address (IPv4-mapped)


@dataclass(frozen=True, slots=True)
class FapiHeaders:
    """The interaction id, and what the TPP tells of its PSU: last login, IP address and user agent."""

    interaction_id: str
    auth_date: datetime | None = None
    customer_ip_address: str | None = None
    customer_user_agent: str | None = None

    @property
    def psu_present(self) -> bool:
        """R/W API Profile: a PSU IP address means the PSU takes part in this request."""
        return self.customer_ip_address is not None


def _auth_date(value: str) -> datetime:
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise HeaderInvalid("not a valid HTTP date", "x-fapi-auth-date") from None


def _ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise HeaderInvalid("not an IPv4 or IPv6 address", "x-fapi-customer-ip-address") from None


async def fapi_headers(
    auth_date: Annotated[
        str | None,
        Header(
            alias="x-fapi-auth-date",
            pattern=HTTP_DATE_PATTERN,
            description="When the PSU last logged in with the TPP (RFC 7231 HTTP-date).",
        ),
    ] = None,
    customer_ip_address: Annotated[
        str | None,
        Header(
            alias="x-fapi-customer-ip-address",
            max_length=MAX_IP_ADDRESS,
            description="The PSU's IP address, when the PSU is logged in with the TPP.",
        ),
    ] = None,
    customer_user_agent: Annotated[
        str | None,
        Header(
            alias="x-customer-user-agent",
            max_length=MAX_USER_AGENT,
            description="The user agent the PSU is using.",
        ),
    ] = None,
    interaction_id: Annotated[
        str | None,
        Header(
            alias="x-fapi-interaction-id",
            description="An RFC 4122 UUID played back on the response; one is generated when absent or invalid.",
        ),
    ] = None,
) -> FapiHeaders:
    """The request's FAPI headers; an invalid one is refused with 400 naming it."""
    del interaction_id  # declared for the OpenAPI document; the correlation middleware settled the value
    return FapiHeaders(
        interaction_id=current_correlation_id(),
        auth_date=None if auth_date is None else _auth_date(auth_date),
        customer_ip_address=None if customer_ip_address is None else _ip_address(customer_ip_address),
        customer_user_agent=customer_user_agent,
    )


FapiHeadersDep = Annotated[FapiHeaders, Depends(fapi_headers)]
