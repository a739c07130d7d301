"""compose.yaml describes a deployment that scales behind one load balancer, with commands the CLI really has."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from sqlalchemy.engine import make_url

from bank.cli import app

ROOT = Path(__file__).resolve().parent.parent
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
SIGNING_KEY = ("OBANK_INTERNAL_SIGNING_KEY", "OBANK_INTERNAL_SIGNING_KEY_FILE")
OWNER_URL = "OBANK_MIGRATION_DATABASE_URL"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _obank_services() -> dict[str, dict[str, Any]]:
    return {name: service for name, service in _services().items() if service.get("command", [None])[0] == "obank"}


def _obank_commands() -> list[tuple[str, list[str]]]:
    return [(name, service["command"]) for name, service in _obank_services().items()]


def _port(service: dict[str, Any]) -> str:
    command: list[str] = service["command"]
    return command[command.index("--port") + 1]


def _secret_targets(service: dict[str, Any]) -> set[str]:
    """Where each of the service's secrets appears: /run/secrets/<target, else its name>."""
    return {
        "/run/secrets/" + (secret if isinstance(secret, str) else secret.get("target", secret["source"]))
        for secret in service.get("secrets", [])
    }


def _database_user(url: str) -> str | None:
    return make_url(re.sub(r"\$\{(\w+)[^}]*\}", r"\1", url)).username


def test_compose_runs_a_balancer_postgres_redis_kafka_and_the_obank_processes() -> None:
    services = _services()
    assert {"lb", "postgres", "redis", "kafka", "migrate", "gateway", "core-banking", "worker", "scheme"} <= set(
        services
    )
    for infra in ("postgres", "redis", "kafka", "gateway", "core-banking"):
        assert "healthcheck" in services[infra], infra
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    assert services["lb"]["image"].startswith("haproxy:")


def test_every_obank_process_runs_in_production_mode_against_real_services_with_its_secrets_as_files() -> None:
    for name, service in _obank_services().items():
        env = service["environment"]
        assert env["OBANK_ENV"] == "production", name
        for required in ("OBANK_DATABASE_URL", "OBANK_REDIS_URL", "OBANK_KAFKA_BOOTSTRAP_SERVERS", "OBANK_ISSUER"):
            assert env.get(required), (name, required)
        assert "OBANK_ENCRYPTION_KEYS" not in env, name  # a file, not a variable `docker inspect` shows
        for variable, path in env.items():
            if variable.endswith("_FILE") and str(path).startswith("/run/secrets/"):
                assert path in _secret_targets(service), (name, variable)


def test_only_the_load_balancer_publishes_a_port() -> None:
    published = {name for name, service in _services().items() if service.get("ports")}
    assert published == {"lb"}
    [port] = _services()["lb"]["ports"]
    assert str(port).endswith(":8443")
    assert _services()["lb"]["environment"]["LB_BIND"] == ":8443"


@pytest.mark.parametrize("name", ["gateway", "core-banking"])
def test_gateways_and_core_banking_scale_with_no_fixed_name_or_host_port(name: str) -> None:
    service = _services()[name]
    assert "container_name" not in service
    assert "ports" not in service
    assert service["command"][service["command"].index("--host") + 1] == "0.0.0.0"  # every address of its container


def test_the_gateways_reach_core_banking_by_its_service_name_and_the_balancer_reaches_every_gateway() -> None:
    services = _services()
    gateway, core_banking, lb = services["gateway"], services["core-banking"], services["lb"]
    assert gateway["environment"]["OBANK_UPSTREAM_CORE_BANKING_URL"] == f"http://core-banking:{_port(core_banking)}"
    assert gateway["depends_on"]["core-banking"] == {"condition": "service_healthy"}
    assert lb["environment"]["LB_GATEWAYS"] == f"gateway:{_port(gateway)}"
    assert int(lb["environment"]["LB_GATEWAY_SLOTS"]) >= 3
    config = HAPROXY_CONFIG.read_text()
    assert re.search(r"server-template .*\$\{LB_GATEWAYS.*resolvers docker", config)  # replicas found by DNS


def test_only_migrate_holds_the_owner_url_and_every_process_connects_as_the_service_role() -> None:
    services = _services()
    holders = {name for name, service in services.items() if OWNER_URL in service.get("environment", {})}
    assert holders == {"migrate"}
    owner = _database_user(services["migrate"]["environment"][OWNER_URL])
    assert owner == services["postgres"]["environment"]["POSTGRES_USER"]
    service_role = services["postgres"]["environment"]["OBANK_SERVICE_DB_USER"]
    for name, service in _obank_services().items():
        assert _database_user(service["environment"]["OBANK_DATABASE_URL"]) == service_role, name
    assert service_role != owner
    # The postgres image creates the service role at the database's creation, from this script.
    [script] = [volume for volume in services["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in volume]
    assert (ROOT / script.split(":")[0]).is_file()


def test_only_gateways_hold_the_signing_key_and_the_others_its_public_keys() -> None:
    for name, service in _obank_services().items():
        env = service["environment"]
        holds = any(variable in env for variable in SIGNING_KEY) or "internal_signing_key" in service.get("secrets", [])
        assert holds is (name == "gateway"), name
        if name != "gateway":
            assert env["OBANK_INTERNAL_VERIFICATION_KEYS_FILE"] in _secret_targets(service), name


def test_the_balancer_config_exists_is_mounted_and_gets_every_variable_it_needs() -> None:
    lb = _services()["lb"]
    assert f"./{HAPROXY_CONFIG.relative_to(ROOT)}:/usr/local/etc/haproxy/haproxy.cfg:ro" in lb["volumes"]
    config = HAPROXY_CONFIG.read_text()
    required = set(re.findall(r"\$\{(LB_\w+)\}", config)) - {"LB_GATEWAY_1", "LB_GATEWAY_2"}  # the test's servers
    assert required and required <= set(lb["environment"]), required - set(lb["environment"])
    assert {lb["environment"]["LB_TLS_CERT"], lb["environment"]["LB_TLS_CERT"] + ".key"} <= _secret_targets(lb)
    assert lb["environment"]["LB_CLIENT_CA"] in _secret_targets(lb)
    for header in ("Client-Cert", "Client-Cert-Chain", "X-Forwarded-For"):
        assert f"http-request del-header {header}\n" in config, header


def test_the_gateways_trust_only_the_network_they_share_with_the_balancer() -> None:
    compose = _compose()
    services = compose["services"]
    [edge] = compose["networks"]["edge"]["ipam"]["config"]
    trusted = services["gateway"]["environment"]["OBANK_TRUSTED_PROXY_NETWORKS"]
    assert trusted == edge["subnet"]
    default = re.sub(r"\$\{\w+:-([^}]+)\}", r"\1", trusted)
    assert ipaddress.ip_network(default).is_private
    on_edge = {name for name, service in services.items() if "edge" in service.get("networks", [])}
    assert on_edge == {"lb", "gateway"}
    for name, service in _obank_services().items():
        assert "OBANK_TRUSTED_PROXY_NETWORKS" not in service["environment"] or name == "gateway", name


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
