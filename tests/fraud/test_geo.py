"""IP addresses to countries with geoip2fast's shipped data, and distances between countries' centres."""

from __future__ import annotations

import pytest

from fraud.geo import default_geolocation, haversine_km


@pytest.mark.parametrize(
    ("address", "country"),
    [("8.8.8.8", "US"), ("81.2.69.142", "GB"), ("1.1.1.1", "AU"), ("2a00:1450:4009:81f::200e", "GB")],
)
def test_public_addresses_have_their_country(address: str, country: str) -> None:
    assert default_geolocation().country_of(address) == country


@pytest.mark.parametrize(
    "address",
    [
        None,
        "",
        "10.0.0.1",
        "192.168.1.20",
        "127.0.0.1",
        "::1",
        "fe80::1",
        "100.64.0.1",
        "2001:db8::1",
        "not-an-ip",
        "8.8.8.8\x00",
        "9" * 100,
    ],
)
def test_private_unknown_or_malformed_addresses_have_none(address: str | None) -> None:
    assert default_geolocation().country_of(address) is None


def test_distances_between_countries_centres() -> None:
    geo = default_geolocation()
    assert geo.distance_km("GB", "GB") == 0
    assert 700 < (geo.distance_km("GB", "FR") or 0) < 1_100
    assert 13_000 < (geo.distance_km("gb", "AU") or 0) < 17_000
    assert geo.distance_km("GB", "XX") is None
    assert geo.distance_km("GB", "AP") is None  # a name countryinfo would match, but no alpha-2 code
    assert geo.distance_km("GB", "G\x00") is None


def test_haversine_quarter_meridian() -> None:
    assert haversine_km((0.0, 0.0), (90.0, 0.0)) == pytest.approx(10_007.5, rel=1e-3)


def test_the_geolocation_is_one_per_process() -> None:
    assert default_geolocation() is default_geolocation()
