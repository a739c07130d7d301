"""`obank serve` processes for tests: the local deployment launcher, with the test suite's keys."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bank.local_deployment import (
    Deployment,
    ObankProcess,
    Spec,
    assertions_for,
    free_port,
    internal_signing_key,
    running,
    start_obank,
    stop_obank,
    wait_ready,
)
from obank.settings import PROJECT_ROOT
from tests.conftest import TEST_KEYS
from tests.services import missing_service, wait_for_port

HAPROXY_CONFIG = PROJECT_ROOT / "deploy" / "haproxy.cfg"

__all__ = [
    "Balancer",
    "Deployment",
    "ObankProcess",
    "Spec",
    "assertions_for",
    "deployment_with_test_keys",
    "free_port",
    "haproxy_binary",
    "internal_signing_key",
    "running",
    "start_balancer",
    "start_obank",
    "start_worker",
    "stop_obank",
    "wait_logged",
    "wait_ready",
]


def deployment_with_test_keys(home: Path, database_url: str) -> Deployment:
    """A deployment on the test's database whose processes hold the test suite's keys (tests read their data)."""
    return Deployment(
        home=home,
        database_url=database_url,
        signing_key=internal_signing_key(),
        encryption_keys=dict(TEST_KEYS),
        active_encryption_key_id="test-1",
        env="test",
    )


def start_worker(deployment: Deployment, name: str, env: dict[str, str]) -> ObankProcess:
    """Start `obank worker` (relay, consumers, scheduled jobs); it serves nothing: wait for it with `wait_logged`."""
    directory = deployment.home / name
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bank.cli", "worker"],
            cwd=PROJECT_ROOT,
            env=deployment.environment(name, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return ObankProcess(name, "worker", process, 0, log, tls=False)


def wait_logged(served: ObankProcess, event: str, timeout_s: float = 60.0) -> None:
    """Block until the process logs `event`, or fail with its log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(line.get("event") == event for line in served.log_lines()):
            return
        if served.process.poll() is not None:
            raise RuntimeError(f"{served.name} exited with {served.process.returncode}:\n{served.output()[-6000:]}")
        time.sleep(0.1)
    raise RuntimeError(f"{served.name} did not log {event} within {timeout_s}s:\n{served.output()[-6000:]}")


@dataclass
class Balancer:
    """HAProxy with deploy/haproxy.cfg, terminating TLS on 127.0.0.1 in front of fixed gateway addresses."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def haproxy_binary() -> str:
    """HAProxy (Debian's `haproxy`, in /usr/sbin); a missing one fails in CI and skips elsewhere."""
    binary = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        missing_service("haproxy (apt-get install haproxy)")
        raise AssertionError  # unreachable
    return binary


def start_balancer(directory: Path, certs_dir: Path, gateways: tuple[str, str], port: int | None = None) -> Balancer:
    """Run deploy/haproxy.cfg as compose does, with the two `gateways` (host:port) as its servers.

    The server certificate and its key sit side by side as `lb.pem` and `lb.pem.key`, as compose mounts them.
    """
    binary = haproxy_binary()
    directory.mkdir(parents=True, exist_ok=True)
    certificate = directory / "lb.pem"
    shutil.copyfile(certs_dir / "server.pem", certificate)
    shutil.copyfile(certs_dir / "server.key", directory / "lb.pem.key")
    port = port or free_port()
    env = {
        **os.environ,
        "LB_BIND": f"127.0.0.1:{port}",
        "LB_TLS_CERT": str(certificate),
        "LB_CLIENT_CA": str(certs_dir / "ca.pem"),
        "LB_GATEWAY_1": gateways[0],
        "LB_GATEWAY_2": gateways[1],
    }
    log = directory / "haproxy.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "-db", "-f", str(HAPROXY_CONFIG)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    balancer = Balancer(process, port, log)
    try:
        wait_for_port(port, process, "haproxy")
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}:\n{log.read_text(errors='replace')}") from exc
    return balancer
