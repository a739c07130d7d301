"""compose.yaml describes the distributed deployment with commands the CLI really has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from bank.cli import app

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def _obank_commands() -> list[tuple[str, list[str]]]:
    return [
        (name, service["command"])
        for name, service in _compose()["services"].items()
        if service.get("command", [None])[0] == "obank"
    ]


def test_compose_runs_postgres_redis_kafka_and_the_obank_processes() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "kafka", "migrate", "gateway", "core-banking", "worker"} <= set(services)
    for infra in ("postgres", "redis", "kafka", "gateway", "core-banking"):
        assert "healthcheck" in services[infra], infra
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft


def test_every_obank_process_runs_in_production_mode_against_real_services() -> None:
    for name, service in _compose()["services"].items():
        if service.get("command", [None])[0] != "obank":
            continue
        env = service["environment"]
        assert env["OBANK_ENV"] == "production", name
        for required in (
            "OBANK_DATABASE_URL",
            "OBANK_REDIS_URL",
            "OBANK_KAFKA_BOOTSTRAP_SERVERS",
            "OBANK_ENCRYPTION_KEYS",
            "OBANK_INTERNAL_SIGNING_KEY",
        ):
            assert env.get(required), (name, required)
        internal = service["command"][:4] == ["obank", "serve", "--role", "core_banking"]
        # Only the internal core_banking service does without a public address and certificate.
        for public in ("OBANK_ISSUER", "OBANK_TLS_CERT_FILE", "OBANK_TLS_KEY_FILE"):
            assert bool(env.get(public)) is not internal, (name, public)


def test_the_gateway_reaches_core_banking_over_http_with_the_same_signing_key() -> None:
    services = _compose()["services"]
    gateway, core_banking = services["gateway"], services["core-banking"]
    assert gateway["command"][:4] == ["obank", "serve", "--role", "gateway"]
    port = core_banking["command"][core_banking["command"].index("--port") + 1]
    assert gateway["environment"]["OBANK_UPSTREAM_CORE_BANKING_URL"] == f"http://core-banking:{port}"
    assert "ports" not in core_banking  # reachable from the compose network only
    assert gateway["depends_on"]["core-banking"] == {"condition": "service_healthy"}
    signing_key = "OBANK_INTERNAL_SIGNING_KEY"
    assert gateway["environment"][signing_key] == core_banking["environment"][signing_key]


@pytest.mark.parametrize(("service", "argv"), _obank_commands())
def test_every_command_exists_in_the_cli(service: str, argv: list[str]) -> None:
    # Typer vendors its own click, so groups are recognised by what they can do, not by class.
    command: Any = typer.main.get_command(app)
    args = list(argv[1:])
    while hasattr(command, "list_commands"):
        name = args.pop(0)
        sub = command.get_command(command.make_context("obank", [name, "--help"], resilient_parsing=True), name)
        assert sub is not None, f"{service}: `obank {' '.join(argv[1:])}`: no command {name!r}"
        command = sub
    assert not hasattr(command, "list_commands")
    # Parsing the options proves each one exists with a valid value; nothing runs.
    command.make_context(command.name, args)


def test_the_check_refuses_an_unknown_command_or_option() -> None:
    with pytest.raises(AssertionError, match="no command"):
        test_every_command_exists_in_the_cli("x", ["obank", "frobnicate"])
    with pytest.raises(Exception, match="No such option"):
        test_every_command_exists_in_the_cli("x", ["obank", "serve", "--no-such-option"])
