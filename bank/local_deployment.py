"""A deployment on this machine: `obank serve --role ...` processes sharing one database, keys and PKI.

What the distributed tests and the benches start; each process gets its own data directory and log file.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from joserfc.jwk import ECKey

from obank.crypto import generate_key
from obank.internal_keys import parse_signing_key, public_key_set
from obank.principal import InternalAssertions
from obank.settings import INTERNAL_ROLES, PROJECT_ROOT

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
LOG_TAIL_CHARS = 6_000
ENCRYPTION_KEY_ID = "local-1"


EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_BELOW_EPHEMERAL = 10_000  # how many ports under the ephemeral range to pick from


def _ephemeral_low() -> int | None:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def free_port() -> int:
    """A port free now, for a server started next, picked below the kernel's ephemeral range where it is known.

    A port the kernel hands out for binding to port 0 comes from the ephemeral range, so any outgoing
    connection may take it before the server it was picked for binds ("Address already in use"); ports
    below that range are only ever taken by binding them.
    """
    low = _ephemeral_low()
    if low is not None and low - _BELOW_EPHEMERAL >= 1024:
        for _ in range(100):
            candidate = secrets.choice(range(low - _BELOW_EPHEMERAL, low))
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", candidate))
                except OSError:
                    continue
                return candidate
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def internal_signing_key() -> str:
    """A fresh ES256 private JWK, the one secret every process of a deployment shares."""
    return json.dumps(ECKey.generate_key("P-256", private=True).as_dict(private=True))


def verification_keys_of(signing_key: str) -> str:
    """The public JWK Set of `signing_key`: all an upstream service is given to verify assertions."""
    return json.dumps(public_key_set([parse_signing_key(signing_key)]))


def assertions_for(signing_key: str) -> InternalAssertions:
    """Signs and verifies internal assertions as the deployment holding `signing_key` does."""
    return InternalAssertions(ECKey.import_key(json.loads(signing_key)))


@dataclass
class Deployment:
    """What the processes of one deployment share: a home for certificates, the database and the keys."""

    home: Path
    database_url: str
    signing_key: str = field(default_factory=internal_signing_key)
    # The key ring every process opens (`OBANK_ENCRYPTION_KEYS`); a fresh one unless a caller shares its own.
    encryption_keys: dict[str, str] = field(
        default_factory=lambda: {ENCRYPTION_KEY_ID: base64.b64encode(generate_key()).decode()}
    )
    active_encryption_key_id: str = ENCRYPTION_KEY_ID
    env: str = "development"

    @property
    def ca_file(self) -> Path:
        return self.home / "certs" / "ca.pem"

    def environment(self, name: str, role: str | None = None, **overrides: str) -> dict[str, str]:
        """The process environment: none of the caller's OBANK_* leaks in; each process has its own data dir.

        core_banking gets only the public half of the signing key, as a production upstream does.
        """
        env = {key: value for key, value in os.environ.items() if not key.startswith("OBANK_")}
        env.update(
            OBANK_ENV=self.env,
            OBANK_DATA_DIR=str(self.home / name / "var"),
            OBANK_CERTS_DIR=str(self.home / "certs"),
            OBANK_DATABASE_URL=self.database_url,
            OBANK_ENCRYPTION_KEYS=json.dumps(self.encryption_keys),
            OBANK_ACTIVE_ENCRYPTION_KEY_ID=self.active_encryption_key_id,
            OBANK_INTERNAL_SIGNING_KEY=self.signing_key,
            OBANK_LOG_LEVEL="INFO",
            COLUMNS="200",
        )
        if role == "core_banking":
            del env["OBANK_INTERNAL_SIGNING_KEY"]
            env["OBANK_INTERNAL_VERIFICATION_KEYS"] = verification_keys_of(self.signing_key)
        env.update(overrides)
        return env


@dataclass
class ObankProcess:
    """One running `obank serve --role ...`, its address and its log file."""

    name: str
    role: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    tls: bool

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.log.parent / "var"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines the process wrote (console lines are skipped)."""
        return [json.loads(line) for line in self.output().splitlines() if line.startswith("{")]


@dataclass(frozen=True)
class Spec:
    """One process to start: a name (its directory and log), its role, extra env and, if chosen, its port."""

    name: str
    role: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)

    @property
    def tls(self) -> bool:
        """As `obank serve` decides: internal roles (core_banking, open_banking) and a gateway behind a trusted
        proxy serve plain HTTP unless given certificate files."""
        plain = self.role in INTERNAL_ROLES or "OBANK_TRUSTED_PROXY_NETWORKS" in self.env
        return not plain or "OBANK_TLS_CERT_FILE" in self.env

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"


def start_obank(deployment: Deployment, spec: Spec) -> ObankProcess:
    """Start `obank serve --role ...` as `spec` says; wait for it with `wait_ready`."""
    directory = deployment.home / spec.name
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and command, no shell)
            [sys.executable, "-m", "bank.cli", "serve", "--role", spec.role, "--port", str(spec.port)],
            cwd=PROJECT_ROOT,
            env=deployment.environment(spec.name, spec.role, **spec.env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return ObankProcess(spec.name, spec.role, process, spec.port, log, tls=spec.tls)


def wait_ready(served: ObankProcess, deployment: Deployment, timeout_s: float = START_TIMEOUT_S) -> None:
    """Block until `/readyz` answers 200, or fail with the process's log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise RuntimeError(f"{served.name} exited with {served.process.returncode}:\n{_tail(served)}")
        verify: ssl.SSLContext | bool = False
        if served.tls:
            if not deployment.ca_file.exists():
                time.sleep(0.1)
                continue
            verify = ssl.create_default_context(cafile=deployment.ca_file)
        try:
            response = httpx.get(f"{served.url}/readyz", verify=verify, timeout=2.0)
        except httpx.TransportError:
            pass
        else:
            if response.status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{served.name} was not ready within {timeout_s}s:\n{_tail(served)}")


def stop_obank(served: ObankProcess) -> None:
    """SIGTERM, as an orchestrator stops it; killed if it does not stop in time."""
    if served.process.poll() is not None:
        return
    served.process.send_signal(signal.SIGTERM)
    try:
        served.process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()


def _tail(served: ObankProcess) -> str:
    return served.output()[-LOG_TAIL_CHARS:]


@contextmanager
def running(deployment: Deployment, *specs: Spec) -> Iterator[Sequence[ObankProcess]]:
    """Start every process at once, wait until all are ready, stop them all afterwards (logs shown on failure)."""
    processes = [start_obank(deployment, spec) for spec in specs]
    try:
        for served in processes:
            wait_ready(served, deployment)
        yield processes
    except BaseException:
        for served in processes:
            print(f"----- {served.name} ({served.role}) log -----\n{_tail(served)}")
        raise
    finally:
        for served in processes:
            stop_obank(served)
