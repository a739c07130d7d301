"""`obank keys generate`: secrets in the form the settings read; rotations keep old data and assertions valid."""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dotenv import dotenv_values
from typer.testing import CliRunner

from bank.cli import app
from obank.crypto import load_keyring, lookup_hashes, seal, unseal
from obank.internal_keys import parse_signing_key
from obank.principal import InternalAssertions, InvalidPrincipalAssertionError, Principal, load_internal_assertions
from obank.settings import ProductionSettingsError, Settings, get_settings

PRINCIPAL = Principal(subject="cust-1", kind="customer", interaction_id="i-1", scopes=frozenset({"accounts"}))
OWNER = uuid.UUID(int=7)
PRODUCTION = {
    "env": "production",
    "database_url": "postgresql://db/obank",
    "redis_url": "redis://r:6379/0",
    "kafka_bootstrap_servers": "kafka:9092",
    "issuer": "https://bank.example",
    "smtp_host": "smtp.bank.example",
}


@pytest.fixture(autouse=True)
def no_obank_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only what a test sets: none of the caller's OBANK_* variables, and settings read afresh."""
    for name in [name for name in os.environ if name.upper().startswith("OBANK_")]:
        monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _keys(*args: str) -> dict[str, str]:
    result = CliRunner().invoke(app, ["keys", *args])
    assert result.exit_code == 0, result.output
    return {name: value or "" for name, value in dotenv_values(stream=io.StringIO(result.stdout)).items()}


def _written(path: Path, *args: str) -> dict[str, str]:
    result = CliRunner().invoke(app, ["keys", *args, "--output", str(path)])
    assert result.exit_code == 0, result.output
    return {name: value or "" for name, value in dotenv_values(path).items()}


def _settings(variables: dict[str, str], **overrides: object) -> Settings:
    fields = {name.removeprefix("OBANK_").lower(): value for name, value in variables.items()}
    return Settings(**{**fields, **overrides})  # type: ignore[arg-type]


def test_generate_prints_every_secret_in_the_form_the_settings_read() -> None:
    variables = _keys("generate")

    assert set(variables) == {
        "OBANK_ENCRYPTION_KEYS",
        "OBANK_ACTIVE_ENCRYPTION_KEY_ID",
        "OBANK_INTERNAL_SIGNING_KEY",
        "OBANK_INTERNAL_VERIFICATION_KEYS",
    }
    gateway = _settings(
        variables,
        **PRODUCTION,
        role="gateway",
        upstream_core_banking_url="http://cb:8080",
        tls_cert_file="c",
        tls_key_file="k",
    )
    upstream = _settings(
        {k: v for k, v in variables.items() if k != "OBANK_INTERNAL_SIGNING_KEY"}, **PRODUCTION, role="core_banking"
    )
    gateway.check_production_ready()
    upstream.check_production_ready()  # the public keys alone are enough for an upstream
    token = load_internal_assertions(gateway).sign(PRINCIPAL, "core_banking")
    assert load_internal_assertions(upstream).verify(token, "core_banking") == PRINCIPAL
    verification = json.loads(variables["OBANK_INTERNAL_VERIFICATION_KEYS"])["keys"]
    assert [key["kid"] for key in verification] == [parse_signing_key(variables["OBANK_INTERNAL_SIGNING_KEY"]).kid]
    assert all("d" not in key for key in verification)
    with pytest.raises(ProductionSettingsError) as refused:
        _settings(variables, **PRODUCTION, role="gateway", internal_signing_key=None).check_production_ready()
    assert "OBANK_INTERNAL_SIGNING_KEY" in refused.value.problems[0]


def test_an_upstream_in_production_needs_the_verification_keys_not_the_signing_key() -> None:
    with pytest.raises(ProductionSettingsError) as refused:
        _settings(
            _keys("generate"), **PRODUCTION, role="core_banking", internal_verification_keys=None
        ).check_production_ready()

    assert [problem.split()[0] for problem in refused.value.problems] == ["OBANK_INTERNAL_VERIFICATION_KEYS"]


def test_output_is_a_0600_file_never_overwritten_without_force(tmp_path: Path) -> None:
    target = tmp_path / "obank.env"
    first = _written(target, "generate")
    assert target.stat().st_mode & 0o777 == 0o600

    refused = CliRunner().invoke(app, ["keys", "generate", "--output", str(target)])
    assert refused.exit_code == 2
    assert "exists: use --force" in refused.stderr
    assert dotenv_values(target) == first

    target.chmod(0o644)
    second = _written(target, "generate", "--force")
    assert second != first
    assert target.stat().st_mode & 0o777 == 0o600


def test_encryption_rotation_keeps_old_data_readable(tmp_path: Path) -> None:
    before = _written(tmp_path / "before.env", "generate")
    old_ring = load_keyring(_settings(before))
    sealed = seal(old_ring, OWNER, "test", b"sort code 12-34-56")
    old_lookup = old_ring.keyed_hash("lookup", b"alice")

    after = _written(tmp_path / "after.env", "generate", "--encryption-keys-from", str(tmp_path / "before.env"))

    assert set(after) == {"OBANK_ENCRYPTION_KEYS", "OBANK_ACTIVE_ENCRYPTION_KEY_ID"}  # only what rotation changes
    ring = load_keyring(_settings(after))
    assert ring.active_key_id != old_ring.active_key_id
    assert set(ring.key_ids) == {old_ring.active_key_id, ring.active_key_id}
    assert unseal(ring, OWNER, "test", sealed) == b"sort code 12-34-56"
    assert old_lookup in lookup_hashes(ring, "lookup", b"alice")
    assert seal(ring, OWNER, "test", b"new")[2:].startswith(ring.active_key_id.encode())  # new data: the new key


def test_encryption_rotation_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    before = _keys("generate")
    monkeypatch.setenv("OBANK_ENCRYPTION_KEYS", before["OBANK_ENCRYPTION_KEYS"])

    after = _keys("generate", "--encryption-keys-from", "env")

    assert set(json.loads(after["OBANK_ENCRYPTION_KEYS"])) > set(json.loads(before["OBANK_ENCRYPTION_KEYS"]))


def test_signing_rotation_overlaps_then_the_old_key_is_retired(tmp_path: Path) -> None:
    before = _written(tmp_path / "before.env", "generate")
    old_gateway = InternalAssertions(parse_signing_key(before["OBANK_INTERNAL_SIGNING_KEY"]))
    in_flight = old_gateway.sign(PRINCIPAL, "core_banking")

    after = _written(tmp_path / "after.env", "generate", "--signing-key-from", str(tmp_path / "before.env"))
    assert set(after) == {"OBANK_INTERNAL_SIGNING_KEY", "OBANK_INTERNAL_VERIFICATION_KEYS"}
    new_gateway = InternalAssertions(parse_signing_key(after["OBANK_INTERNAL_SIGNING_KEY"]))
    overlap = load_internal_assertions(Settings(internal_verification_keys=after["OBANK_INTERNAL_VERIFICATION_KEYS"]))
    assert overlap.verify(in_flight, "core_banking") == PRINCIPAL  # gateways not yet switched still work
    assert overlap.verify(new_gateway.sign(PRINCIPAL, "core_banking"), "core_banking") == PRINCIPAL
    with pytest.raises(RuntimeError, match="no internal signing key"):
        overlap.sign(PRINCIPAL, "core_banking")  # an upstream holds public keys only

    retired = _keys("verification-keys", "--from", str(tmp_path / "after.env"))
    upstream = load_internal_assertions(
        Settings(internal_verification_keys=retired["OBANK_INTERNAL_VERIFICATION_KEYS"])
    )
    assert upstream.verify(new_gateway.sign(PRINCIPAL, "core_banking"), "core_banking") == PRINCIPAL
    with pytest.raises(InvalidPrincipalAssertionError):
        upstream.verify(in_flight, "core_banking")


def test_a_rotation_source_without_keys_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "empty.env").write_text("OBANK_LOG_LEVEL=INFO\n")

    result = CliRunner().invoke(app, ["keys", "generate", "--signing-key-from", str(tmp_path / "empty.env")])
    missing = CliRunner().invoke(app, ["keys", "generate", "--encryption-keys-from", str(tmp_path / "nope.env")])

    assert result.exit_code == 2 and result.stderr.strip() == "OBANK_INTERNAL_SIGNING_KEY is not in the source"
    assert missing.exit_code == 2 and "nope.env: no such file" in missing.stderr
    assert result.stdout == missing.stdout == ""
