"""Settings: production refuses development defaults and names every missing setting at once."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from obank.internal_keys import new_signing_key
from obank.settings import ProductionSettingsError, Settings

KEY = base64.b64encode(b"\x07" * 32).decode()


def test_production_with_defaults_names_every_missing_setting() -> None:
    with pytest.raises(ProductionSettingsError) as refused:
        Settings(env="production").check_production_ready()
    message = str(refused.value)
    for name in (
        "OBANK_DATABASE_URL",
        "OBANK_REDIS_URL",
        "OBANK_KAFKA_BOOTSTRAP_SERVERS",
        "OBANK_ENCRYPTION_KEYS",
        "OBANK_ISSUER",
        "OBANK_TLS_CERT_FILE",
    ):
        assert name in message


def test_production_fully_configured_starts(tmp_path) -> None:
    Settings(
        env="production",
        database_url="postgresql://db/obank",
        redis_url="redis://r:6379/0",
        kafka_bootstrap_servers="kafka:9092",
        encryption_keys=json.dumps({"k1": KEY}),
        active_encryption_key_id="k1",
        internal_signing_key=json.dumps(new_signing_key().as_dict(private=True)),
        issuer="https://bank.example",
        tls_cert_file=tmp_path / "c",
        tls_key_file=tmp_path / "k",
        smtp_host="smtp.bank.example",
    ).check_production_ready()


def test_processes_serving_no_clients_need_neither_the_signing_key_nor_certificates() -> None:
    worker = Settings(
        env="production",
        database_url="postgresql://db/obank",
        redis_url="redis://r:6379/0",
        kafka_bootstrap_servers="kafka:9092",
        encryption_keys=json.dumps({"k1": KEY}),
        active_encryption_key_id="k1",
        issuer="https://bank.example",
        smtp_host="smtp.bank.example",
    )
    worker.check_production_ready("worker")
    Settings(
        env="production", database_url="postgresql://db/obank", kafka_bootstrap_servers="k:9092"
    ).check_production_ready("scheme")
    Settings(env="production", migration_database_url="postgresql://owner@db/obank").check_production_ready("migrate")
    with pytest.raises(ProductionSettingsError) as refused:
        worker.check_production_ready("serve")
    assert "OBANK_INTERNAL_SIGNING_KEY" in str(refused.value)
    with pytest.raises(ProductionSettingsError) as refused:
        Settings(env="production", database_url="postgresql://db/obank").check_production_ready("worker")
    assert {"OBANK_KAFKA_BOOTSTRAP_SERVERS", "OBANK_REDIS_URL", "OBANK_ENCRYPTION_KEYS", "OBANK_SMTP_HOST"} <= {
        problem.split(" ", 1)[0] for problem in refused.value.problems
    }
    assert "OBANK_TLS_CERT_FILE" not in str(refused.value)


def test_production_refuses_an_active_key_id_that_names_no_key() -> None:
    with pytest.raises(ProductionSettingsError, match="names no key"):
        Settings(
            env="production",
            database_url="postgresql://db/obank",
            redis_url="redis://r",
            kafka_bootstrap_servers="k:9092",
            encryption_keys=json.dumps({"k1": KEY}),
            active_encryption_key_id="k2",
            issuer="https://bank.example",
            tls_cert_file="c",
            tls_key_file="k",
        ).check_production_ready()


@pytest.mark.parametrize(
    "bad", ['{"k1": "short"}', "not json", "{}", '{"k1": "' + base64.b64encode(b"x" * 16).decode() + '"}']
)
def test_malformed_encryption_keys_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="encryption key"):
        Settings(encryption_keys=bad)


def test_development_is_allowed_to_use_defaults() -> None:
    Settings(env="development").check_production_ready()


def test_cli_in_production_with_defaults_refuses_and_names_settings(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBANK_")}
    env |= {"OBANK_ENV": "production", "OBANK_DATA_DIR": str(tmp_path), "COLUMNS": "400"}
    result = subprocess.run(
        [sys.executable, "-m", "bank.cli", "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    output = " ".join((result.stdout + result.stderr).split())
    for name in (
        "OBANK_DATABASE_URL",
        "OBANK_REDIS_URL",
        "OBANK_KAFKA_BOOTSTRAP_SERVERS",
        "OBANK_ENCRYPTION_KEYS",
        "OBANK_ISSUER",
    ):
        assert name in output
    assert "OBANK_INTERNAL_SIGNING_KEY" not in output  # a worker serves no clients and signs no assertions
    assert not (tmp_path / "pgdata").exists()
