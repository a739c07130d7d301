"""Where webhooks may go: https URLs whose host resolves only to public addresses, unless private networks are
allowed (`OBANK_WEBHOOKS_ALLOW_PRIVATE_NETWORKS`).

The address is checked at registration and again whenever a delivery connects, through `obank.outbound`
(`CheckedResolver`): a name that re-resolves to an internal address later (DNS rebinding) reaches nothing.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

from notifications.webhooks.errors import ForbiddenDestination, InvalidEndpoint
from obank.outbound import AddressPolicy, CheckedResolver, address_literal

__all__ = ["CheckedResolver", "Destinations", "check_url"]


def check_url(url: str) -> SplitResult:
    """The URL's parts if it is an absolute https URL with a host and no credentials; InvalidEndpoint if not."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidEndpoint("not a valid URL", field="url") from exc
    if parts.scheme != "https":
        raise InvalidEndpoint("must be an https URL", field="url")
    if not parts.hostname:
        raise InvalidEndpoint("names no host", field="url")
    if parts.username is not None or parts.password is not None:
        raise InvalidEndpoint("must not carry credentials", field="url")
    if parts.fragment:
        raise InvalidEndpoint("must not have a fragment", field="url")
    if port == 0:
        raise InvalidEndpoint("names port 0", field="url")
    return parts


class Destinations(AddressPolicy):
    """Checks receivers' hosts against the rules of this deployment (`OBANK_WEBHOOKS_ALLOW_PRIVATE_NETWORKS`)."""

    def __init__(self, *, allow_private_networks: bool) -> None:
        super().__init__(allow_private_networks=allow_private_networks, error=ForbiddenDestination)

    def check_host(self, url: str) -> None:
        """Refuse a URL whose host is a forbidden address literal (names are checked as they resolve)."""
        literal = address_literal(check_url(url).hostname or "")
        if literal is not None:
            self.check_address(literal)

    async def check_registration(self, url: str) -> None:
        """InvalidEndpoint naming `url` unless deliveries could go there now."""
        parts = check_url(url)
        try:
            await self.resolve(parts.hostname or "", parts.port or 443)
        except ForbiddenDestination as exc:
            raise InvalidEndpoint(str(exc), field="url") from exc
