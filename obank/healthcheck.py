"""The image's HEALTHCHECK: `GET /healthz` of this container's own process, standard library only (no curl).

`python -m obank.healthcheck [URL]` exits 0 when the URL answers 200, 1 otherwise. Without a URL it asks
`https://127.0.0.1:$OBANK_PORT/healthz` and, if that port speaks plain HTTP (an internal role, or a gateway behind
its TLS-terminating proxy), `http://` on the same port. Certificates go unverified only on a loopback address:
the process's own certificate, whose name is the public one; any other host is verified as usual.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from urllib.parse import urlsplit

DEFAULT_PORT = 8443
TIMEOUT_S = 3.0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _tls_context(url: str) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if _is_loopback(urlsplit(url).hostname or ""):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def default_urls(environ: dict[str, str] | None = None) -> list[str]:
    """This process's own /healthz, over TLS first and then plain HTTP, on OBANK_PORT."""
    port = int((os.environ if environ is None else environ).get("OBANK_PORT") or DEFAULT_PORT)
    return [f"https://127.0.0.1:{port}/healthz", f"http://127.0.0.1:{port}/healthz"]


def healthy(urls: Sequence[str], timeout_s: float = TIMEOUT_S) -> bool:
    """True if a URL answers 200; the next URL is tried only when one could not be spoken to (TLS to plain HTTP)."""
    for url in urls:
        if urlsplit(url).scheme not in ("http", "https"):
            return False
        context = _tls_context(url) if url.startswith("https:") else None
        try:
            with urllib.request.urlopen(url, timeout=timeout_s, context=context) as response:  # noqa: S310 (http/s only)
                return bool(response.status == 200)
        except urllib.error.HTTPError:
            return False  # it answered, and not 200
        except (urllib.error.URLError, OSError):
            continue
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status for Docker: 0 healthy, 1 not."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    return 0 if healthy(arguments or default_urls()) else 1


if __name__ == "__main__":
    sys.exit(main())
