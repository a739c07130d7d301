"""`obank serve` as a person runs it: certificates, embedded PostgreSQL, HTTPS, clean stop, restart."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from obank.settings import PROJECT_ROOT
from tests.services import free_port

START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 10.0


def _environment(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBANK_")}
    env.update(overrides)
    return env


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _start(home: Path, log_name: str) -> Served:
    port = free_port()
    log = home / log_name
    env = _environment(OBANK_DATA_DIR=str(home / "var"), OBANK_CERTS_DIR=str(home / "certs"))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bank.cli", "serve", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Served(process, port, log)


def _wait_ready(served: Served, ca: Path) -> httpx.Response:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"obank serve exited with {served.process.returncode}:\n{served.output()}")
        if ca.exists():
            try:
                response = httpx.get(f"{served.url}/readyz", verify=ssl.create_default_context(cafile=ca))
            except httpx.TransportError:
                pass
            else:
                if response.status_code == 200:
                    return response
        time.sleep(0.2)
    served.process.kill()
    pytest.fail(f"obank serve was not ready within {START_TIMEOUT_S}s:\n{served.output()}")


def _stop(served: Served, sig: signal.Signals) -> float:
    started = time.monotonic()
    served.process.send_signal(sig)
    try:
        served.process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        served.process.kill()
        pytest.fail(f"obank serve ignored {sig.name} for {STOP_TIMEOUT_S}s:\n{served.output()}")
    return time.monotonic() - started


def _postgres_processes(pgdata: Path) -> list[int]:
    """Pids of PostgreSQL servers running on `pgdata` (read from /proc, as `ps` would)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"postgres") and str(pgdata).encode() in argv:
            pids.append(int(proc.name))
    return pids


def _database_url(pgdata: Path) -> str:
    """The running embedded server's socket, from postmaster.pid (pid, data dir, start, port, socket dir)."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return f"postgresql://postgres@/obank?host={lines[4]}&port={lines[3]}"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    # As root the embedded server runs as its own user, which must traverse to var/pgdata.
    tmp_path.chmod(0o755)
    return tmp_path


def test_serve_runs_stops_cleanly_and_restarts_on_the_same_data(home: Path) -> None:
    ca = home / "certs" / "ca.pem"
    pgdata = home / "var" / "pgdata"
    first = _start(home, "first.log")
    try:
        ready = _wait_ready(first, ca)

        assert ready.json() == {"status": "ready", "database": "ok", "migrations": "head"}
        verify = ssl.create_default_context(cafile=ca)
        mine = str(uuid.uuid4())
        echoed = httpx.get(f"{first.url}/healthz", verify=verify, headers={"x-fapi-interaction-id": mine})
        replaced = httpx.get(f"{first.url}/healthz", verify=verify, headers={"x-fapi-interaction-id": "42"})
        assert echoed.headers["x-fapi-interaction-id"] == mine
        assert uuid.UUID(replaced.headers["x-fapi-interaction-id"]).version == 4
        assert replaced.headers["strict-transport-security"].startswith("max-age=")

        demo = json.loads((home / "var" / "demo.json").read_text())
        assert demo["issuer"] == first.url
        assert Path(demo["ca_cert"]) == ca
        assert sorted(p.name for p in (home / "certs").glob("*.pem")) == [
            "ca.pem",
            "server.pem",
            "staff-device.pem",
            "tpp-demo.pem",
            "tpp-other.pem",
        ]
        assert len(demo["customers"]) >= 2
        assert all(len(customer["accounts"]) >= 2 for customer in demo["customers"])
        first_customers = [customer["customer_id"] for customer in demo["customers"]]
        with psycopg.connect(_database_url(pgdata), autocommit=True) as conn:
            conn.execute("CREATE TABLE survives_restart (id int)")
            funded = conn.execute(
                "SELECT count(*) FROM core_banking.accounts WHERE customer_id IS NOT NULL AND booked_balance_minor > 0"
            ).fetchone()
            assert funded is not None
            assert funded[0] >= 4
            # The in-process relay publishes what the seeding recorded in the outbox.
            deadline = time.monotonic() + 10
            while True:
                row = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE published_at IS NULL) FROM platform.outbox_events"
                ).fetchone()
                assert row is not None
                if (row[0] > 0 and row[1] == 0) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert row[0] > 0
            assert row[1] == 0, "the in-process relay left events unpublished"
        assert _postgres_processes(pgdata)
        ca_pem = ca.read_bytes()
        cluster_identity = (pgdata / "PG_VERSION").stat().st_ino
    finally:
        took = _stop(first, signal.SIGTERM)

    assert first.process.returncode == 0, first.output()
    assert took < 5.0, f"SIGTERM took {took:.1f}s"
    assert _postgres_processes(pgdata) == []
    assert not (pgdata / "postmaster.pid").exists()
    for line in first.output().splitlines():
        if line.startswith("{"):
            json.loads(line)  # every log line is one JSON object

    second = _start(home, "second.log")
    try:
        _wait_ready(second, ca)

        demo = json.loads((home / "var" / "demo.json").read_text())
        assert demo["issuer"] == second.url  # rewritten for this run's address
        assert [customer["customer_id"] for customer in demo["customers"]] == first_customers  # seeded once
        assert ca.read_bytes() == ca_pem  # certificates kept
        assert (pgdata / "PG_VERSION").stat().st_ino == cluster_identity  # no new initdb
        with psycopg.connect(_database_url(pgdata), autocommit=True) as conn:
            assert conn.execute("SELECT to_regclass('public.survives_restart') IS NOT NULL").fetchone() == (True,)
    finally:
        took = _stop(second, signal.SIGINT)  # Ctrl-C

    assert second.process.returncode == 0, second.output()
    assert took < 5.0, f"SIGINT took {took:.1f}s"
    assert _postgres_processes(pgdata) == []


def test_after_a_kill_9_the_next_serve_takes_over_the_orphaned_database_and_stops_it(home: Path) -> None:
    ca = home / "certs" / "ca.pem"
    pgdata = home / "var" / "pgdata"
    killed = _start(home, "killed.log")
    try:
        try:
            _wait_ready(killed, ca)
        finally:
            killed.process.kill()  # SIGKILL: no cleanup runs
            killed.process.wait()
        assert _postgres_processes(pgdata), "the embedded server should have outlived the killed process"
        postmaster = (pgdata / "postmaster.pid").read_text().splitlines()[0]

        second = _start(home, "second.log")
        try:
            _wait_ready(second, ca)
            assert (pgdata / "postmaster.pid").read_text().splitlines()[0] == postmaster  # joined the orphan
            # A command run meanwhile joins the same server and leaves it running when it exits.
            env = _environment(OBANK_DATA_DIR=str(home / "var"), OBANK_CERTS_DIR=str(home / "certs"))
            migrate = subprocess.run(
                [sys.executable, "-m", "bank.cli", "migrate"],
                cwd=PROJECT_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert migrate.returncode == 0, migrate.stderr
            ready = httpx.get(f"{second.url}/readyz", verify=ssl.create_default_context(cafile=ca))
            assert ready.status_code == 200
        finally:
            _stop(second, signal.SIGTERM)

        assert second.process.returncode == 0, second.output()
        assert _postgres_processes(pgdata) == []
        assert not (pgdata / "postmaster.pid").exists()
    finally:
        for pid in _postgres_processes(pgdata):  # a failed run leaves no server behind
            os.kill(pid, signal.SIGINT)


def test_production_refuses_development_defaults_naming_every_missing_setting(tmp_path: Path) -> None:
    env = _environment(
        OBANK_ENV="production",
        OBANK_DATA_DIR=str(tmp_path / "var"),
        OBANK_CERTS_DIR=str(tmp_path / "certs"),
        COLUMNS="400",
    )

    result = subprocess.run(
        [sys.executable, "-m", "bank.cli", "serve", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    message = " ".join(result.stderr.split())
    for setting in (
        "OBANK_DATABASE_URL",
        "OBANK_REDIS_URL",
        "OBANK_KAFKA_BOOTSTRAP_SERVERS",
        "OBANK_ENCRYPTION_KEYS",
        "OBANK_ISSUER",
        "OBANK_TLS_CERT_FILE",
        "OBANK_TLS_KEY_FILE",
    ):
        assert setting in message, setting
    assert message.count("OBANK_ENV=production refuses to start") == 1  # one message naming them all
    assert not (tmp_path / "var").exists()  # refused before touching anything
    assert not (tmp_path / "certs").exists()
