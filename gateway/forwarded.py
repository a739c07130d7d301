"""The client's certificate and address as the bank's TLS-terminating proxy forwards them (RFC 9440, X-Forwarded-For).

Only a peer in `OBANK_TRUSTED_PROXY_NETWORKS` speaks for the client. Its `Client-Cert` (and `Client-Cert-Chain`)
becomes the ASGI TLS extension, where the guard, the authorization server's mTLS client authentication and
certificate binding read it exactly as for a native TLS connection; the last `X-Forwarded-For` hop becomes the
client address that rate limits and logs see. From any other peer a request carrying either certificate header
is refused and nothing is trusted: Keycloak once took the header from anyone (keycloak#17059).
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Sequence
from typing import Any

import http_sf
from cryptography import x509
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.policy import family_of
from gateway.refusals import Refusal, send_refusal
from obank.correlation import current_correlation_id
from obank.log import get_logger
from obank.ob_errors import OBErrorCode

_log = get_logger("gateway.forwarded")

CLIENT_CERT = b"client-cert"
CLIENT_CERT_CHAIN = b"client-cert-chain"
FORWARDED_FOR = b"x-forwarded-for"
_CERTIFICATE_HEADERS = frozenset({CLIENT_CERT, CLIENT_CERT_CHAIN})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _joined(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """A field's lines combined as RFC 9110 s5.3 says (comma-separated), None when absent."""
    values = [value for key, value in headers if key == name]
    return b", ".join(values) if values else None


def _certificate(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise _malformed("Client-Cert") from exc


def _byte_sequence(item: object, header: str) -> bytes:
    """The value of a parsed Item (value, parameters) that must be a Byte Sequence."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], bytes):
        return item[0]
    raise _malformed(header)


def _malformed(header: str) -> Refusal:
    return Refusal(
        400,
        "malformed_forwarded_header",
        f"the {header} header is not what RFC 9440 defines",
        error="invalid_request",
        ob_error_code=OBErrorCode.HEADER_INVALID,
        ob_path=header,
    )


def forwarded_certificates(headers: Sequence[tuple[bytes, bytes]]) -> list[bytes] | None:
    """The DER certificates the proxy forwarded, the client's first (RFC 9440 s2); None when it forwarded none.

    `Client-Cert` is one Byte Sequence (RFC 8941 s3.3.5), `Client-Cert-Chain` a List of them; parameters,
    which RFC 9440 defines none of, are ignored as RFC 8941 s2.2 says. A chain without a certificate is refused.
    """
    leaf, chain = _joined(headers, CLIENT_CERT), _joined(headers, CLIENT_CERT_CHAIN)
    if leaf is None:
        if chain is not None:
            raise _malformed("Client-Cert-Chain")
        return None
    try:
        parsed_leaf = http_sf.parse(leaf, tltype="item")
        parsed_chain = http_sf.parse(chain, tltype="list") if chain is not None else []
    except http_sf.StructuredFieldError as exc:
        raise _malformed("Client-Cert" if chain is None else "Client-Cert or Client-Cert-Chain") from exc
    if not isinstance(parsed_chain, list):
        raise _malformed("Client-Cert-Chain")
    ders = [_byte_sequence(parsed_leaf, "Client-Cert")]
    ders += [_byte_sequence(member, "Client-Cert-Chain") for member in parsed_chain]
    for der in ders:
        _certificate(der)  # each one must be a certificate, or nothing downstream reads it
    return ders


def forwarded_address(headers: Sequence[tuple[bytes, bytes]]) -> str | None:
    """The client address the proxy appended to `X-Forwarded-For` (its last hop), None when there is none."""
    joined = _joined(headers, FORWARDED_FOR)
    if joined is None:
        return None
    last = joined.rsplit(b",", 1)[-1].strip()
    try:
        return str(ipaddress.ip_address(last.decode("ascii")))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _malformed("X-Forwarded-For") from exc


def tls_extension(ders: Sequence[bytes]) -> dict[str, Any]:
    """The ASGI TLS extension of the client's connection to the proxy, as `obank.server` builds it natively.

    The proxy verified the chain against the client CA (`verify optional`, the handshake fails otherwise), as
    `obank.server` does with `CERT_OPTIONAL`; what the proxy negotiated with the client is not forwarded.
    """
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der) for der in ders],
        "client_cert_name": _certificate(ders[0]).subject.rfc4514_string(),
        "client_cert_error": None,
        "tls_version": None,
        "cipher_suite": None,
    }


class TrustedProxies:
    """The networks whose peers may speak for the client (`OBANK_TRUSTED_PROXY_NETWORKS`)."""

    def __init__(self, networks: Sequence[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(network) for network in networks)

    def trust(self, client: Sequence[Any] | None) -> bool:
        """Whether the peer of this connection (the ASGI `client`) is one of the proxies."""
        if not client or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False  # a Unix socket's path, or no address at all
        return any(address in network for network in self.networks)


class ForwardedClientMiddleware:
    """Takes the client's certificate and address from a trusted proxy; refuses certificate headers from others."""

    def __init__(self, app: ASGIApp, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        carries_certificate = any(key in _CERTIFICATE_HEADERS for key, _ in headers)
        try:
            if not self.proxies.trust(scope.get("client")):
                if carries_certificate:
                    raise Refusal(
                        400,
                        "untrusted_client_certificate_header",
                        "Client-Cert is accepted only from the bank's TLS-terminating proxy",
                        error="invalid_request",
                        ob_error_code=OBErrorCode.HEADER_INVALID,
                        ob_path="Client-Cert",
                    )
                await self.app(scope, receive, send)
                return
            ders = forwarded_certificates(headers)
            address = forwarded_address(headers)
        except Refusal as refusal:
            _log.info("request_refused", reason=refusal.reason, status=refusal.status)
            await send_refusal(send, refusal, family_of(scope["path"]), current_correlation_id())
            return
        forwarded = {**scope, "headers": [(key, value) for key, value in headers if key not in _CERTIFICATE_HEADERS]}
        if address is not None:
            forwarded["client"] = (address, 0)  # the proxy does not say which port the client used
        if ders is not None:
            forwarded["extensions"] = {**(scope.get("extensions") or {}), "tls": tls_extension(ders)}
        await self.app(forwarded, receive, send)
