"""The outbound address policy: internal addresses are never called, by name or by literal, unless allowed."""

from __future__ import annotations

import ipaddress

import pytest

from obank.outbound import AddressPolicy, CheckedResolver, ForbiddenAddress, is_forbidden


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "224.0.0.1", "::1",
     "fe80::1", "fc00::1", "::ffff:10.0.0.1", "100.64.0.1"],
    ids=lambda value: str(value),
)  # fmt: skip
def test_internal_addresses_are_forbidden(address: str) -> None:
    assert is_forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888"], ids=["ipv4", "ipv6"])
def test_public_addresses_are_not(address: str) -> None:
    assert not is_forbidden(ipaddress.ip_address(address))


async def test_a_name_resolving_to_loopback_is_refused_unless_private_networks_are_allowed() -> None:
    with pytest.raises(ForbiddenAddress):
        await AddressPolicy(allow_private_networks=False).resolve("localhost", 443)
    with pytest.raises(ForbiddenAddress):
        await CheckedResolver(AddressPolicy(allow_private_networks=False)).resolve("localhost", 443)
    allowed = await CheckedResolver(AddressPolicy(allow_private_networks=True)).resolve("localhost", 443)
    assert allowed and all(ipaddress.ip_address(entry["host"]).is_loopback for entry in allowed)


def test_literal_hosts_are_checked_before_the_request() -> None:
    strict = AddressPolicy(allow_private_networks=False)
    for host in ("127.0.0.1", "[::1]", "10.0.0.7"):
        with pytest.raises(ForbiddenAddress):
            strict.check_literal(host)
    strict.check_literal("8.8.8.8")
    strict.check_literal("receiver.example")  # a name: checked as the connection resolves it
