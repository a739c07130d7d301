"""Matching the TLS client certificate to a client's registration (RFC 8705 s2.1.2 and s2.2.2)."""

from __future__ import annotations

import base64
import binascii
import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

from obank.certs import certificate_thumbprint_s256


def _normalised(name: x509.Name) -> list[list[tuple[str, str]]]:
    # RFC 5280 s7.1 compares most attribute values case-insensitively, with insignificant spaces folded.
    return [
        sorted((attribute.oid.dotted_string, " ".join(str(attribute.value).split()).casefold()) for attribute in rdn)
        for rdn in name.rdns
    ]


def parse_distinguished_name(value: str) -> x509.Name:
    """An RFC 4514 string, tolerating spaces after commas and lower-case attribute types (RFC 4514 s3)."""
    parts = []
    for part in re.split(r"(?<!\\),", value):
        attribute_type, separator, attribute_value = part.strip().partition("=")
        if not separator or not attribute_type.strip():
            raise ValueError(f"{part!r} is not TYPE=value")
        parts.append(f"{attribute_type.strip().upper()}={attribute_value.strip()}")
    return x509.Name.from_rfc4514_string(",".join(parts))


def subject_matches(certificate: x509.Certificate, registered_dn: str) -> bool:
    """Whether the certificate's subject is the registered RFC 4514 distinguished name."""
    try:
        expected = parse_distinguished_name(registered_dn)
    except ValueError:
        return False
    return _normalised(certificate.subject) == _normalised(expected)


def certificate_registered(certificate: x509.Certificate, keys: KeySet) -> bool:
    """Whether a registered JWK carries this exact certificate (x5c[0]) or its SHA-256 thumbprint."""
    der = certificate.public_bytes(serialization.Encoding.DER)
    thumbprint = certificate_thumbprint_s256(certificate)
    for key in keys.keys:
        if not isinstance(key, RSAKey | ECKey | OKPKey):
            continue
        if key.get("x5t#S256") == thumbprint:
            return True
        chain = key.get("x5c")
        if isinstance(chain, list) and chain:
            try:
                if base64.b64decode(str(chain[0]), validate=True) == der:
                    return True
            except (binascii.Error, ValueError):
                continue
    return False
