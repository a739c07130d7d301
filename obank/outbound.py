"""Where the platform's own outbound HTTP calls (webhooks, TPP callbacks) may go: hosts that resolve only to
public addresses, unless private networks are allowed for a deployment (tests, a bank's internal receivers).

The check happens where the connection is made: an aiohttp client built with `CheckedResolver` resolves each
name through `AddressPolicy`, connects to the very address it checked (the URL's host still names the TLS
server), and so a name that re-resolves to an internal address later (DNS rebinding) reaches nothing. A host
written as an IP address is never resolved: `AddressPolicy.check_literal` checks it before each request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ForbiddenAddress(OSError):
    """A host whose address the platform may not call (private, loopback, link-local, multicast, reserved), or
    that does not resolve. An OSError, as a failed resolution is: HTTP clients report it as the connection's
    failure."""


def is_forbidden(address: IPAddress) -> bool:
    """Private, loopback, link-local, multicast, reserved, unspecified or otherwise not globally routable."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_forbidden(address.ipv4_mapped)
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def address_literal(host: str) -> IPAddress | None:
    """The host as an IP address, when it is written as one."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class AddressPolicy:
    """Checks outbound hosts against the rules of this deployment; `error` is what a refusal raises."""

    def __init__(self, *, allow_private_networks: bool, error: type[OSError] = ForbiddenAddress) -> None:
        self.allow_private_networks = allow_private_networks
        self.error = error

    def check_address(self, address: IPAddress) -> None:
        if not self.allow_private_networks and is_forbidden(address):
            raise self.error("the host is an address the bank does not call")

    def check_literal(self, host: str) -> None:
        """Refuse a host written as a forbidden address: clients connect to literals without resolving them, so
        `CheckedResolver` never sees them; call this before each request."""
        literal = address_literal(host.strip("[]"))
        if literal is not None:
            self.check_address(literal)

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The addresses of `host`, every one of them allowed (any may be the one connected to); else `error`."""
        literal = address_literal(host)
        if literal is not None:
            self.check_address(literal)
            return [literal]
        try:
            found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise self.error("the host does not resolve") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found))
        if not addresses:
            raise self.error("the host does not resolve")
        for address in addresses:
            self.check_address(address)
        return addresses


class CheckedResolver(AbstractResolver):
    """aiohttp's resolver for outbound calls: only addresses the policy allows are ever connected to."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self.policy.resolve(host, port)
        return [
            {
                "hostname": host,
                "host": str(address),
                "port": port,
                "family": socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        return None
