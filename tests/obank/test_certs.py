"""The development PKI: chains, names, key usages, key file modes, idempotence."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from obank.certs import (
    certificate_thumbprint_s256,
    create_certificate_authority,
    init_development_certificates,
    issue_client_certificate,
    load_certificate,
    load_private_key,
)

ALL_FILES = {
    f"{name}.{ext}" for name in ("ca", "server", "tpp-demo", "tpp-other", "staff-device") for ext in ("pem", "key")
}


@pytest.fixture(scope="module")
def certs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("certs")
    init_development_certificates(directory)
    return directory


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, InvalidSignature):
        return False
    return True


def _eku(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_writes_every_file_with_private_keys_owner_only(tmp_path: Path) -> None:
    written = init_development_certificates(tmp_path / "certs")

    assert {p.name for p in written} == ALL_FILES
    for path in written:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.suffix == ".key":
            assert mode == 0o600, path
        else:
            assert mode == 0o644, path
    assert not [p for p in (tmp_path / "certs").iterdir() if p.name.startswith(".")]  # no temporaries left


def test_ca_is_a_ca_and_signs_every_certificate(certs_dir: Path) -> None:
    ca = load_certificate(certs_dir / "ca.pem")
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert _signed_by(ca, ca)
    for name in ("server", "tpp-demo", "tpp-other"):
        leaf = load_certificate(certs_dir / f"{name}.pem")
        assert _signed_by(leaf, ca), name
        assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        # The key file holds the private half of the certificate's public key.
        assert load_private_key(certs_dir / f"{name}.key").public_key() == leaf.public_key()
    other_ca, _ = create_certificate_authority("Another CA")
    assert not _signed_by(load_certificate(certs_dir / "tpp-demo.pem"), other_ca)


def test_server_certificate_names_localhost_and_loopback_for_server_auth(certs_dir: Path) -> None:
    server = load_certificate(certs_dir / "server.pem")
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value

    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert _eku(server) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert isinstance(server.public_key(), ec.EllipticCurvePublicKey)
    assert server.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]


def test_tpp_certificates_carry_their_subject_for_client_auth(certs_dir: Path) -> None:
    demo = load_certificate(certs_dir / "tpp-demo.pem")
    other = load_certificate(certs_dir / "tpp-other.pem")

    assert demo.subject.rfc4514_string() == "CN=Demo TPP,O=Demo TPP Ltd,C=GB"
    assert other.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Other TPP"
    assert _eku(demo) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert _eku(other) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert certificate_thumbprint_s256(demo) != certificate_thumbprint_s256(other)


def test_second_run_keeps_everything_and_force_replaces_everything(tmp_path: Path) -> None:
    directory = tmp_path / "certs"
    init_development_certificates(directory)
    before = {p.name: p.read_bytes() for p in directory.iterdir()}

    assert init_development_certificates(directory) == []
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before

    replaced = init_development_certificates(directory, force=True)
    assert {p.name for p in replaced} == ALL_FILES
    after = {p.name: p.read_bytes() for p in directory.iterdir()}
    assert all(after[name] != before[name] for name in ALL_FILES)


def test_a_missing_leaf_is_reissued_under_the_existing_ca(tmp_path: Path) -> None:
    directory = tmp_path / "certs"
    init_development_certificates(directory)
    ca_before = (directory / "ca.pem").read_bytes()
    (directory / "tpp-other.pem").unlink()

    written = init_development_certificates(directory)

    assert {p.name for p in written} == {"tpp-other.pem", "tpp-other.key"}
    assert (directory / "ca.pem").read_bytes() == ca_before
    assert _signed_by(load_certificate(directory / "tpp-other.pem"), load_certificate(directory / "ca.pem"))


def test_a_lost_ca_reissues_every_certificate_so_all_chain_to_the_new_one(tmp_path: Path) -> None:
    directory = tmp_path / "certs"
    init_development_certificates(directory)
    (directory / "ca.key").unlink()

    written = init_development_certificates(directory)

    assert {p.name for p in written} == ALL_FILES
    ca = load_certificate(directory / "ca.pem")
    assert _signed_by(load_certificate(directory / "server.pem"), ca)


def test_issue_client_certificate_for_tests() -> None:
    ca, ca_key = create_certificate_authority("Test CA")
    cert, key = issue_client_certificate(ca, ca_key, "CN=Test TPP,O=Test Ltd,C=GB")

    assert cert.subject.rfc4514_string() == "CN=Test TPP,O=Test Ltd,C=GB"
    assert cert.issuer == ca.subject
    assert _signed_by(cert, ca)
    assert cert.public_key() == key.public_key()
    assert cert.not_valid_after_utc <= ca.not_valid_after_utc


def test_thumbprint_is_unpadded_base64url_sha256_of_der() -> None:
    ca, ca_key = create_certificate_authority("Test CA")
    cert, _ = issue_client_certificate(ca, ca_key, "CN=Thumb")
    der = cert.public_bytes(serialization.Encoding.DER)
    expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")

    thumbprint = certificate_thumbprint_s256(cert)

    assert thumbprint == expected
    assert len(thumbprint) == 43
    assert "=" not in thumbprint and "+" not in thumbprint and "/" not in thumbprint
