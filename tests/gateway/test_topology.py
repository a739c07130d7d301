"""compose.yaml's topology as processes, no Docker: HAProxy with deploy/haproxy.cfg in front of two gateways, two
core banking processes and a worker, on PostgreSQL (an owner and a service role), Redis and a Kafka-protocol broker.

Started once for the module: the customer's journey, a TPP's certificate-bound token and the scheduled jobs all
go through the same deployment.
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import ssl
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from joserfc import jwt
from joserfc.jwk import ECKey
from psycopg import sql

from bank.demo import seed_and_write_demo
from obank.certs import certificate_thumbprint_s256, init_development_certificates, load_certificate
from obank.runtime import build_platform
from obank.settings import PROJECT_ROOT, Settings
from tests.conftest import DatabasePool
from tests.gateway.processes import (
    Balancer,
    Deployment,
    ObankProcess,
    Spec,
    deployment_with_test_keys,
    free_port,
    haproxy_binary,
    start_balancer,
    start_obank,
    start_worker,
    wait_logged,
    wait_ready,
)
from tests.gateway.scenarios import customer_moves_money

FREQUENT_JOBS = ("expire-holds", "lapse-consents", "purge-revocations")  # every OBANK_SCHEDULER_FREQUENT_INTERVAL_S
OB_CONSENT = "/open-banking/v4.0/aisp/account-access-consents/"
# Five processes import the whole bank at once (about 5 s of CPU each): on a busy two-core machine that takes time.
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 15.0
pytestmark = pytest.mark.timeout(2 * START_TIMEOUT_S)


@dataclass
class Topology:
    """The running deployment: its balancer, its processes, and the database as its owner sees it."""

    deployment: Deployment
    balancer: Balancer
    demo: dict[str, Any]
    gateways: list[ObankProcess]
    core_banking: list[ObankProcess]
    worker: ObankProcess
    owner_url: str
    service_role: str

    def client(self, cert: tuple[Path, Path] | None = None) -> httpx.AsyncClient:
        """A client of the balancer, the one public address, presenting `cert` (certificate, key) if given."""
        context = ssl.create_default_context(cafile=self.deployment.ca_file)
        if cert is not None:
            context.load_cert_chain(*cert)
        return httpx.AsyncClient(base_url=self.balancer.url, verify=context, timeout=30.0)


def _service_role(owner_url: str) -> tuple[str, str]:
    """A new login role with no privileges, and the owner's URL rewritten to connect as it."""
    role = f"obank_service_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(owner_url, autocommit=True) as conn:
        owner = conn.execute("SELECT current_user").fetchone()
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    assert owner is not None
    return role, owner_url.replace(f"//{owner[0]}:", f"//{role}:", 1)


def _migrate(deployment: Deployment, owner_url: str) -> None:
    """`obank migrate` as compose's `migrate` job runs it: the owner's URL, granting the service role."""
    env = deployment.environment("migrate", OBANK_MIGRATION_DATABASE_URL=owner_url)
    done = subprocess.run(
        [sys.executable, "-m", "bank.cli", "migrate"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _seed_demo(deployment: Deployment, issuer: str) -> dict[str, Any]:
    """The demo bank, seeded once as the service role before the processes start (each would race to seed it)."""
    settings = Settings(
        env="test",
        data_dir=deployment.home / "seed" / "var",
        certs_dir=deployment.home / "certs",
        database_url=deployment.database_url,
        encryption_keys=json.dumps(deployment.encryption_keys),
        active_encryption_key_id=deployment.active_encryption_key_id,
        internal_signing_key=deployment.signing_key,
    )

    async def seed() -> Path:
        platform = build_platform(settings)
        try:
            return await seed_and_write_demo(platform, issuer)
        finally:
            await platform.close()

    with ThreadPoolExecutor(1) as thread:  # a loop of its own, away from the test session's
        written = thread.submit(asyncio.run, seed()).result()
    loaded: dict[str, Any] = json.loads(written.read_text())
    return loaded


@pytest.fixture(scope="module")
def topology(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_admin_url: str,
    database_pool: DatabasePool,
    redis_url: str,
    kafka_bootstrap: str,
) -> Iterator[Topology]:
    haproxy_binary()  # before anything starts: fails in CI, skips elsewhere
    home = tmp_path_factory.mktemp("topology")
    name = database_pool.take()
    owner_url = postgres_admin_url.replace("/postgres?", f"/{name}?")
    role, service_url = _service_role(owner_url)
    deployment = deployment_with_test_keys(home, service_url)
    _migrate(deployment, owner_url)
    # Every process shares the PKI; made before any starts, as compose mounts it.
    init_development_certificates(deployment.home / "certs")

    balancer_port = free_port()  # the issuer is the balancer's address: known before any process starts
    issuer = f"https://127.0.0.1:{balancer_port}"
    shared = {
        "OBANK_REDIS_URL": redis_url,
        "OBANK_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "OBANK_KAFKA_IDEMPOTENT_PRODUCER": "false",  # Tansu's memory engine (see tests/obank/outbox/test_kafka.py)
        "OBANK_KAFKA_TOPIC_PREFIX": f"topology{uuid.uuid4().hex[:8]}.",
        "OBANK_ISSUER": issuer,
        "OBANK_SCHEDULER_FREQUENT_INTERVAL_S": "1",
    }
    core_banking = [Spec(f"core-banking-{n}", "core_banking", shared) for n in (1, 2)]
    gateways = [
        Spec(
            f"gateway-{n}",
            "gateway",
            shared | {"OBANK_UPSTREAM_CORE_BANKING_URL": upstream.url, "OBANK_TRUSTED_PROXY_NETWORKS": "127.0.0.1/32"},
        )
        for n, upstream in zip((1, 2), core_banking, strict=True)
    ]
    processes: list[ObankProcess] = []
    balancer: Balancer | None = None
    try:
        demo = _seed_demo(deployment, issuer)
        # Five processes at once, as an orchestrator starts replicas; the demo data they would seed is there already.
        processes += [start_obank(deployment, spec) for spec in (*core_banking, *gateways)]
        processes.append(start_worker(deployment, "worker", shared))
        for served in processes[:4]:
            wait_ready(served, deployment, timeout_s=START_TIMEOUT_S)
        wait_logged(processes[4], "scheduler_started", timeout_s=START_TIMEOUT_S)
        balancer = start_balancer(
            home / "lb",
            deployment.home / "certs",
            (f"127.0.0.1:{gateways[0].port}", f"127.0.0.1:{gateways[1].port}"),
            port=balancer_port,
        )
        yield Topology(
            deployment,
            balancer,
            demo,
            gateways=processes[2:4],
            core_banking=processes[:2],
            worker=processes[4],
            owner_url=owner_url,
            service_role=role,
        )
    except BaseException:
        for served in processes:
            print(f"----- {served.name} log -----\n{served.output()[-6000:]}")
        if balancer is not None:
            print(f"----- haproxy log -----\n{balancer.log.read_text(errors='replace')[-3000:]}")
        raise
    finally:
        if balancer is not None:
            balancer.stop()
        for served in processes:  # all at once: each takes a few seconds to drain
            if served.process.poll() is None:
                served.process.send_signal(signal.SIGTERM)
        for served in processes:
            try:
                served.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                served.process.kill()
                served.process.wait()
        database_pool.give_back(name)


def _requests(served: ObankProcess) -> list[dict[str, Any]]:
    """The requests a process logged, without the balancer's health checks."""
    return [line for line in served.log_lines() if line.get("event") == "request" and line.get("path") != "/healthz"]


def _client_assertion(tpp: dict[str, Any], audience: str) -> str:
    """The demo TPP's private_key_jwt client assertion (RFC 7523 s3), from the files demo.json names."""
    key = ECKey.import_key(Path(PROJECT_ROOT, tpp["private_key"]).read_bytes())
    now = int(time.time())
    claims = {"iss": tpp["client_id"], "sub": tpp["client_id"], "aud": audience, "iat": now, "exp": now + 60}
    return jwt.encode({"alg": "ES256", "kid": tpp["key_id"]}, claims | {"jti": str(uuid.uuid4())}, key)


async def test_the_customer_journey_and_a_tpps_bound_token_go_through_the_balancer_to_both_gateways(
    topology: Topology,
) -> None:
    demo = topology.demo
    async with topology.client() as client:
        interaction_id = await customer_moves_money(client, demo)

    # The balancer spread the journey over both gateways; the transfer reached a core banking process.
    for gateway in topology.gateways:
        assert [line for line in _requests(gateway) if line["path"].startswith(("/api/", "/oauth2/", "/login"))]
    assert any(
        line["path"] == "/api/v1/transfers" and line["correlation_id"] == interaction_id
        for served in topology.core_banking
        for line in _requests(served)
    )

    # A TPP's client credentials with its client certificate: the token is bound to the certificate the balancer saw.
    tpp = demo["clients"]["tpp"]
    certificate = Path(PROJECT_ROOT, tpp["certificate"])
    tpp_pair = (certificate, Path(PROJECT_ROOT, tpp["certificate_key"]))
    console = demo["clients"]["staff_console"]  # another certificate of the same CA
    other_pair = (Path(PROJECT_ROOT, console["certificate"]), Path(PROJECT_ROOT, console["private_key"]))
    async with topology.client(tpp_pair) as tpp_client:
        issued = await tpp_client.post(
            "/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "scope": "accounts",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": _client_assertion(tpp, topology.balancer.url),
            },
        )
        assert issued.status_code == 200, issued.text
        token = issued.json()["access_token"]
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert claims["cnf"] == {"x5t#S256": certificate_thumbprint_s256(load_certificate(certificate))}
        auth = {"authorization": f"Bearer {token}", "x-fapi-interaction-id": str(uuid.uuid4())}
        # Twice each, so both gateways (round robin) see the token with and without its certificate.
        used = [await tpp_client.get(OB_CONSENT + str(uuid.uuid4()), headers=auth) for _ in range(2)]
    async with topology.client(other_pair) as other_client, topology.client() as no_cert:
        wrong = [await other_client.get(OB_CONSENT + str(uuid.uuid4()), headers=auth) for _ in range(2)]
        # A Client-Cert header of the client's own is dropped by the balancer, never taken for a certificate.
        der = load_certificate(certificate).public_bytes(Encoding.DER)  # public: anyone may hold it
        spoofed_header = {"client-cert": ":" + base64.b64encode(der).decode() + ":"}
        spoofed = [await no_cert.get(OB_CONSENT + str(uuid.uuid4()), headers=auth | spoofed_header) for _ in range(2)]

    for response in used:  # past the gateway: open_banking knows no such consent
        assert response.status_code == 400, response.text
        assert response.json()["Errors"][0]["Path"] == "ConsentId"
    for response in wrong + spoofed:
        assert response.status_code == 401, response.text

    def consent_calls() -> list[int]:
        return [
            sum(line["path"].startswith(OB_CONSENT) for line in _requests(gateway)) for gateway in topology.gateways
        ]

    # A gateway logs a request once its answer is sent: its last line may reach the file a moment later.
    deadline = time.monotonic() + 5.0
    while sum(consent_calls()) < 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    counted = consent_calls()
    assert sum(counted) == 6 and all(counted), counted


async def test_scheduled_jobs_run_once_across_replicas_on_the_service_role(topology: Topology) -> None:
    schedulers = [*topology.core_banking, topology.worker]
    pids = {str(served.process.pid) for served in schedulers}
    deadline = time.monotonic() + 30
    while True:
        runs = Counter(
            (line["job"], str(line["due_at"]))
            for served in schedulers
            for line in served.log_lines()
            if line.get("event") == "job_run_succeeded" and line.get("job") in FREQUENT_JOBS
        )
        if len({due for _, due in runs}) >= 4 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)

    # Three schedulers race for every due time; each (job, due time) ran in exactly one of them, once.
    assert len({due for _, due in runs}) >= 4, runs
    assert set(runs.values()) == {1}, [key for key, count in runs.items() if count > 1]
    with psycopg.connect(topology.owner_url) as conn:
        rows = conn.execute(
            "SELECT job, status::text, attempts, claimed_by FROM platform.job_runs WHERE job = ANY(%s)",
            [list(FREQUENT_JOBS)],
        ).fetchall()
        users = conn.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    succeeded = [row for row in rows if row[1] == "SUCCEEDED"]
    assert len(succeeded) >= len(runs)
    assert all(attempts == 1 for _, _, attempts, _ in succeeded), succeeded
    assert {claimer.split(":")[1] for _, _, _, claimer in succeeded} <= pids
    # Every process connects as the service role; only `obank migrate` used the owner's URL.
    assert {user for (user,) in users} == {topology.service_role}
