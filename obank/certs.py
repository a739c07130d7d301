"""Development PKI: a local CA, the server certificate and demo TPP client certificates (mTLS, RFC 8705)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# EC P-256 rather than RSA-2048: the server signs once per full TLS handshake and ECDSA P-256 signing is
# an order of magnitude cheaper than RSA-2048 on our two cores; keys are generated instantly; every TLS
# client and FAPI 2.0 (ES256) supports it.
CURVE = ec.SECP256R1()
CA_VALIDITY = dt.timedelta(days=3650)
# 825 days is the longest lifetime clients such as Apple's accept for TLS server certificates.
LEAF_VALIDITY = dt.timedelta(days=825)

CA_FILES = ("ca.pem", "ca.key")
SERVER_FILES = ("server.pem", "server.key")
SERVER_DNS_NAMES = ("localhost",)
SERVER_IP_ADDRESSES = ("127.0.0.1",)


@dataclass(frozen=True, slots=True)
class DemoClient:
    """A demo third-party provider's client certificate: written as `{name}.pem` and `{name}.key`."""

    name: str
    subject: str  # RFC 4514, as a TPP registers it for `tls_client_auth` (RFC 8705 section 2.1.2)


DEMO_TPP = DemoClient("tpp-demo", "CN=Demo TPP,O=Demo TPP Ltd,C=GB")
OTHER_TPP = DemoClient("tpp-other", "CN=Other TPP,O=Other TPP Ltd,C=GB")
# A managed staff device: staff console tokens are bound to the certificate it presents.
STAFF_DEVICE = DemoClient("staff-device", "CN=obank staff device 1,O=obank,C=GB")
DEMO_CLIENTS = (DEMO_TPP, OTHER_TPP, STAFF_DEVICE)


def generate_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(CURVE)


def _name(subject: x509.Name | str) -> x509.Name:
    return subject if isinstance(subject, x509.Name) else x509.Name.from_rfc4514_string(subject)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_certificate_authority(
    common_name: str = "obank Development CA", *, valid_for: dt.timedelta = CA_VALIDITY
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A self-signed CA that may sign end-entity certificates only (path length 0)."""
    key = generate_private_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "obank development"),
        ]
    )
    now = _now()
    public_key = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + valid_for)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _issue(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    usage: x509.ObjectIdentifier,
    valid_for: dt.timedelta,
    alternative_names: Sequence[x509.GeneralName] = (),
) -> x509.Certificate:
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + valid_for, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if alternative_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(alternative_names)), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def issue_server_certificate(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    *,
    dns_names: Sequence[str] = SERVER_DNS_NAMES,
    ip_addresses: Sequence[str] = SERVER_IP_ADDRESSES,
    valid_for: dt.timedelta = LEAF_VALIDITY,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A TLS server certificate (EKU serverAuth) for the given names and addresses."""
    key = generate_private_key()
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
    common_name = dns_names[0] if dns_names else ip_addresses[0]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = _issue(ca_cert, ca_key, subject, key, ExtendedKeyUsageOID.SERVER_AUTH, valid_for, names)
    return cert, key


def issue_client_certificate(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    subject: x509.Name | str,
    *,
    key: ec.EllipticCurvePrivateKey | None = None,
    valid_for: dt.timedelta = LEAF_VALIDITY,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A TLS client certificate (EKU clientAuth) for `subject`, e.g. `CN=Demo TPP,O=Demo TPP Ltd,C=GB`."""
    key = key or generate_private_key()
    cert = _issue(ca_cert, ca_key, _name(subject), key, ExtendedKeyUsageOID.CLIENT_AUTH, valid_for)
    return cert, key


@lru_cache(maxsize=1024)  # certificates are immutable; a TPP's connections present the same one on every request
def certificate_thumbprint_s256(cert: x509.Certificate) -> str:
    """The `x5t#S256` confirmation: base64url (unpadded) SHA-256 of the DER certificate (RFC 8705 s3.1)."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write atomically with `mode` set before any byte lands, so a key is never readable by others."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)


def write_certificate(path: Path, cert: x509.Certificate) -> None:
    _write(path, certificate_pem(cert), 0o644)


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    _write(path, private_key_pem(key), 0o600)


def load_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC private key")
    return key


def _write_pair(
    certs_dir: Path, files: tuple[str, str], cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> list[Path]:
    cert_path, key_path = certs_dir / files[0], certs_dir / files[1]
    write_private_key(key_path, key)
    write_certificate(cert_path, cert)
    return [cert_path, key_path]


def init_development_certificates(certs_dir: Path, force: bool = False) -> list[Path]:
    """Write the missing development CA, server, demo TPP and staff device certificates (all with `force`)."""
    # A new CA re-issues every certificate so that all of them chain to it.
    certs_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    ca_paths = [certs_dir / f for f in CA_FILES]
    new_ca = force or not all(p.exists() for p in ca_paths)
    if new_ca:
        ca_cert, ca_key = create_certificate_authority()
        written += _write_pair(certs_dir, CA_FILES, ca_cert, ca_key)
    else:
        ca_cert, ca_key = load_certificate(ca_paths[0]), load_private_key(ca_paths[1])

    def missing(files: tuple[str, str]) -> bool:
        return new_ca or not all((certs_dir / f).exists() for f in files)

    if missing(SERVER_FILES):
        written += _write_pair(certs_dir, SERVER_FILES, *issue_server_certificate(ca_cert, ca_key))
    for client in DEMO_CLIENTS:
        files = (f"{client.name}.pem", f"{client.name}.key")
        if missing(files):
            written += _write_pair(certs_dir, files, *issue_client_certificate(ca_cert, ca_key, client.subject))
    return written
