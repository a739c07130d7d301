"""Where a sign-in comes from: the country of an IP address, and how far apart two countries' centres are.

The country comes from geoip2fast's shipped data file (IPv4 and IPv6), loaded once per process on first use;
the distance is the great-circle distance between the countries' centroids as countryinfo gives them.
"""

from __future__ import annotations

import ipaddress
import math
import threading
from functools import cache, lru_cache
from typing import Any

from countryinfo import CountryInfo
from countryinfo.exceptions import CountryNotFoundError
from geoip2fast import GeoIP2Fast

# The shipped file covering both IPv4 and IPv6 (the default one has IPv4 only).
_DATA_FILE = "geoip2fast-ipv6.dat.gz"
EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)


class Geolocation:
    """IP address → ISO 3166 alpha-2 country, and distances between countries, over shipped data (no network)."""

    def __init__(self) -> None:
        self._reader: Any = None
        self._lock = threading.Lock()

    def _database(self) -> Any:
        """The IP database, read from its file on first use (about 0.1 s), then kept."""
        if self._reader is None:
            with self._lock:
                if self._reader is None:
                    self._reader = GeoIP2Fast(geoip2fast_data_file=_DATA_FILE)
        return self._reader

    def country_of(self, ip_address: str | None) -> str | None:
        """The country an address is registered in; None for private, loopback, reserved, unknown or malformed."""
        if not ip_address or len(ip_address) > 64:
            return None
        try:
            address = ipaddress.ip_address(ip_address.strip())
        except ValueError:
            return None
        if not address.is_global:
            return None
        code = self._database().lookup(address.compressed).country_code
        if not isinstance(code, str) or len(code) != 2 or not code.isalpha():
            return None
        return code.upper()

    def distance_km(self, country_a: str, country_b: str) -> float | None:
        """Great-circle distance between two countries' centroids (haversine); None if either is unknown."""
        a, b = _centroid(country_a.upper()), _centroid(country_b.upper())
        if a is None or b is None:
            return None
        return haversine_km(a, b)


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (latitude, longitude) points in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@lru_cache(maxsize=512)
def _centroid(country: str) -> tuple[float, float] | None:
    """A country's centre (latitude, longitude), only for a code countryinfo knows as that very alpha-2 code."""
    if len(country) != 2 or not country.isalpha():
        return None
    try:
        info = CountryInfo(country)
        # countryinfo also matches names and alternative spellings ("AP" would find Cape Verde): insist on the code.
        if (info.iso(2) or "").upper() != country:
            return None
        latlng = info.latlng()
    except (CountryNotFoundError, KeyError, TypeError, ValueError):
        return None
    if len(latlng) != 2:
        return None
    return float(latlng[0]), float(latlng[1])


@cache
def default_geolocation() -> Geolocation:
    """The process's one geolocation (its IP database is read once, on first use)."""
    return Geolocation()
