"""Settings from files (`OBANK_<NAME>_FILE`, `OBANK_SECRETS_DIR`) and internal keys that reveal nothing when refused."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from obank.internal_keys import new_signing_key, public_key_set
from obank.settings import Settings
from obank.settings_sources import SettingsFileError, settings_error_lines

KEYS = json.dumps({"k1": base64.b64encode(b"\x05" * 32).decode()})


@pytest.fixture(autouse=True)
def no_obank_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets: none of the caller's OBANK_* variables."""
    for name in [name for name in os.environ if name.upper().startswith("OBANK_")]:
        monkeypatch.delenv(name)


def _lines(exc: Exception) -> list[str]:
    return settings_error_lines(exc, Settings.model_fields, "OBANK_")


def test_a_file_variable_reads_the_file_without_its_trailing_newline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "keys").write_text(KEYS + "\n")
    (tmp_path / "password").write_text("p4ss word \n")
    (tmp_path / "origins").write_text('["https://app.bank.example"]\n')
    monkeypatch.setenv("OBANK_ENCRYPTION_KEYS_FILE", str(tmp_path / "keys"))
    monkeypatch.setenv("obank_smtp_password_file", str(tmp_path / "password"))  # any case, as the variables
    monkeypatch.setenv("OBANK_CORS_ALLOWED_ORIGINS_FILE", str(tmp_path / "origins"))

    settings = Settings()

    assert settings.encryption_keys == KEYS
    assert settings.smtp_password == "p4ss word "  # only the newline goes
    assert settings.cors_allowed_origins == ["https://app.bank.example"]  # JSON settings decoded as from a variable


def test_a_setting_and_its_file_variable_together_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "keys").write_text(KEYS)
    monkeypatch.setenv("OBANK_ENCRYPTION_KEYS", KEYS)
    monkeypatch.setenv("OBANK_ENCRYPTION_KEYS_FILE", str(tmp_path / "keys"))
    monkeypatch.setenv("OBANK_SMTP_PASSWORD_FILE", str(tmp_path / "missing"))

    with pytest.raises(SettingsFileError) as refused:
        Settings()

    assert _lines(refused.value) == [
        "OBANK_ENCRYPTION_KEYS and OBANK_ENCRYPTION_KEYS_FILE are both set: set only one",
        f"OBANK_SMTP_PASSWORD_FILE: cannot read {tmp_path / 'missing'}: No such file or directory",
    ]


def test_a_setting_that_is_a_path_keeps_its_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBANK_TLS_CERT_FILE", str(tmp_path / "server.pem"))  # a path setting, not a file variable

    assert Settings().tls_cert_file == tmp_path / "server.pem"


def test_a_secrets_directory_supplies_what_variables_do_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "OBANK_ENCRYPTION_KEYS").write_text(KEYS + "\n")
    (tmp_path / "OBANK_ACTIVE_ENCRYPTION_KEY_ID").write_text("k1\n")
    (tmp_path / "obank_smtp_password").write_text("from-the-directory")
    monkeypatch.setenv("OBANK_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("OBANK_SMTP_PASSWORD", "from-the-variable")

    settings = Settings()

    assert (settings.encryption_keys, settings.active_encryption_key_id) == (KEYS, "k1")
    assert settings.smtp_password == "from-the-variable"  # a variable outranks the directory


def test_a_missing_secrets_directory_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBANK_SECRETS_DIR", str(tmp_path / "nowhere"))

    with pytest.raises(SettingsFileError, match=r"OBANK_SECRETS_DIR: .* is not a directory"):
        Settings()


def test_verification_keys_refuse_private_members_and_never_echo_a_key() -> None:
    signing = new_signing_key()
    private = json.dumps({"keys": [signing.as_dict(private=True)]})
    secret = str(signing.as_dict(private=True)["d"])

    with pytest.raises(ValidationError) as refused:
        Settings(internal_verification_keys=private, internal_signing_key=private)

    lines = _lines(refused.value)
    assert lines == [
        "OBANK_INTERNAL_SIGNING_KEY: the internal signing key must be an EC P-256 private JWK (with its 'd' member)",
        "OBANK_INTERNAL_VERIFICATION_KEYS: internal verification key 0 holds private key material: "
        "give public keys only",
    ]
    assert secret not in str(refused.value)  # nor in a traceback


def test_well_formed_internal_keys_are_accepted() -> None:
    signing = new_signing_key()

    settings = Settings(
        internal_signing_key=json.dumps(signing.as_dict(private=True)),
        internal_verification_keys=json.dumps(public_key_set([signing])),
    )

    assert settings.internal_verification_keys is not None
    assert "d" not in json.loads(settings.internal_verification_keys)["keys"][0]


def test_bad_settings_are_one_line_each_and_a_secret_is_never_shown() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(env="prod", log_level="verbose", encryption_keys='{"k1": "c2VjcmV0"}', port="eighty")

    assert _lines(refused.value) == [
        "OBANK_ENV: Input should be 'development', 'test' or 'production' (got 'prod')",
        "OBANK_PORT: Input should be a valid integer, unable to parse string as an integer (got 'eighty')",
        "OBANK_ENCRYPTION_KEYS: encryption key 'k1' must be 32 bytes (AES-256)",
        "OBANK_LOG_LEVEL: unknown log level; use one of CRITICAL, ERROR, WARNING, INFO, DEBUG (got 'verbose')",
    ]
    assert "c2VjcmV0" not in str(refused.value)


def test_log_level_is_normalised() -> None:
    assert Settings(log_level="warning").log_level == "WARNING"
