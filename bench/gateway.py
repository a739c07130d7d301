"""Gateway overhead: `GET /api/v1/accounts/{id}/balances` through the gateway against core_banking directly.

Run: `.venv/bin/python -m bench.gateway [--seconds 5] [--concurrency 16] [--rounds 2]`.
It starts a throw-away embedded PostgreSQL, seeds it with `obank demo`, and serves from subprocesses:
- direct (baseline): `obank serve --role core_banking` over TLS; the bench mints each internal assertion
  itself (`InternalAssertions.sign`), as a gateway would;
- in-process: `obank serve --role all`, the gateway with core_banking inside its own process;
- proxied: `obank serve --role gateway` reaching another `--role core_banking` process over plain HTTP.
Gateways are called with a real access token: a demo customer signs in through the first-party client
(password, TOTP, PKCE). Load comes from this process (aiohttp on uvloop, keep-alive, a fixed number of
concurrent loops), one target at a time, interleaved over rounds so a noisy machine hurts all alike.
Rate limits are on, with budgets far above the load (`OBANK_RATE_LIMIT_BUDGETS`): a refusal is no measurement.
A plain SQL baseline reads the same balance with psycopg (the accounts-row query the API runs, a transaction
per read, same database, same number of loops). Each served process's RSS is printed idle and at its peak
under its load, and the last line sums the run up for comparison between runs. `--profile DIR` then loads
the direct and in-process servers once more under py-spy (see `bench/profiles.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psycopg
import uvloop

from bank.demo_sign_in import customer_login
from bank.local_deployment import Deployment, ObankProcess, Spec, assertions_for, running
from bench.profiles import RssSampler, recording
from obank.certs import init_development_certificates
from obank.embedded_db import ensure_embedded_database, stop_embedded_database
from obank.migrate import upgrade_to_head
from obank.principal import PRINCIPAL_HEADER, InternalAssertions, Principal
from obank.settings import PROJECT_ROOT

AIMS = {"in-process": 0.95, "proxied": 0.5}
# Internal assertions live 60 s; the bench re-signs well before, as a gateway signs for every request.
ASSERTION_REFRESH_S = 20.0

Headers = Callable[[], Mapping[str, str]]


@dataclass
class Target:
    """One way of reaching the balances of one account."""

    name: str
    url: str
    headers: Headers
    pid: int | None = None  # the served process, whose memory is followed under load
    rates: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    idle_rss: int = 0
    peak_rss: int = 0

    @property
    def per_second(self) -> float:
        return statistics.median(self.rates)

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


class MintedAssertion:
    """The `x-obank-principal` header for direct calls, re-signed before it expires."""

    def __init__(self, assertions: InternalAssertions, principal: Principal) -> None:
        self.assertions = assertions
        self.principal = principal
        self.signed_at = 0.0
        self.headers: dict[str, str] = {}

    def __call__(self) -> Mapping[str, str]:
        now = time.monotonic()
        if now - self.signed_at > ASSERTION_REFRESH_S:
            self.headers = {PRINCIPAL_HEADER: self.assertions.sign(self.principal, "core_banking")}
            self.signed_at = now
        return self.headers


async def sql_load(target: Target, database_url: str, customer_id: str, concurrency: int, seconds: float) -> None:
    """The baseline: `concurrency` psycopg loops reading the balance as the API's query does, one transaction each."""
    account_id = target.url.rsplit("/", 2)[-2]
    connections = [await psycopg.AsyncConnection.connect(database_url) for _ in range(concurrency)]
    try:

        async def loop(
            connection: psycopg.AsyncConnection[tuple[Any, ...]], until: float, latencies: list[float]
        ) -> None:
            while time.monotonic() < until:
                started = time.perf_counter()
                async with connection.transaction():
                    cursor = await connection.execute(
                        "SELECT customer_id, currency, booked_balance_minor, held_minor, overdraft_limit_minor"
                        " FROM core_banking.accounts WHERE id = %s",
                        (account_id,),
                    )
                    row = await cursor.fetchone()
                if row is None or str(row[0]) != customer_id:
                    target.errors += 1
                else:
                    latencies.append(time.perf_counter() - started)

        warm: list[float] = []
        await asyncio.gather(*(loop(c, time.monotonic() + min(2.0, seconds), warm) for c in connections))
        recorded: list[float] = []
        began = time.monotonic()
        await asyncio.gather(*(loop(c, began + seconds, recorded) for c in connections))
        target.rates.append(len(recorded) / (time.monotonic() - began))
        target.latencies.extend(recorded)
    finally:
        for connection in connections:
            await connection.close()


async def load(target: Target, ssl_context: ssl.SSLContext, concurrency: int, seconds: float, warm_up: float) -> None:
    """`concurrency` loops calling `target` back to back: `warm_up` seconds unrecorded, then `seconds` recorded."""
    rss = RssSampler([target.pid]) if target.pid else None
    if rss is not None and not target.idle_rss:
        target.idle_rss = rss.rss()
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=ssl_context)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def loop(until: float, record: bool, latencies: list[float]) -> None:
            while time.monotonic() < until:
                started = time.perf_counter()
                async with session.get(target.url, headers=target.headers()) as response:
                    await response.read()
                    ok = response.status == 200
                if not ok:
                    target.errors += 1
                elif record:
                    latencies.append(time.perf_counter() - started)

        warm: list[float] = []
        await asyncio.gather(*(loop(time.monotonic() + warm_up, False, warm) for _ in range(concurrency)))
        recorded: list[float] = []
        if rss is not None:
            rss.start()
        began = time.monotonic()
        await asyncio.gather(*(loop(began + seconds, True, recorded) for _ in range(concurrency)))
        target.rates.append(len(recorded) / (time.monotonic() - began))
        target.latencies.extend(recorded)
        if rss is not None:
            target.peak_rss = max(target.peak_rss, rss.stop())


async def access_token(gateway: ObankProcess, ca_file: Path, demo: dict[str, Any], customer: int) -> str:
    """A demo customer's access token from this gateway's authorization server (first-party client, PKCE)."""
    verify = ssl.create_default_context(cafile=ca_file)
    async with httpx.AsyncClient(base_url=gateway.url, verify=verify, timeout=30.0) as client:
        return await customer_login(client, demo, customer_index=customer)


def report(targets: list[Target], sql: Target, concurrency: int, seconds: float, rounds: int) -> None:
    print(f"\n{concurrency} concurrent loops, {rounds} round(s) of {seconds:.0f} s per target (median rate)")
    print(f"{'target':<34}{'requests/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'RSS idle/load MiB':>20}")
    for target in (sql, *targets):
        memory = f"{target.idle_rss // 2**20}/{target.peak_rss // 2**20}" if target.pid else "-"
        print(
            f"{target.name:<34}{target.per_second:>12.0f}{target.percentile(0.5):>10.2f}"
            f"{target.percentile(0.99):>10.2f}{target.errors:>8}{memory:>20}"
        )
    direct = targets[0].per_second
    print(f"{'direct':<11} core_banking / plain SQL = {direct / sql.per_second:.2f}")
    print()
    for target in targets[1:]:
        deployment = target.name.split()[-1].strip("()")
        ratio = target.per_second / direct
        aim = AIMS[deployment]
        verdict = "meets" if ratio >= aim else "misses"
        print(f"{deployment:<11} gateway / direct = {ratio:.2f}  ({verdict} the aim of {aim})")
    print(final_line(targets, sql))


def final_line(targets: list[Target], sql: Target) -> str:
    """The one line runs compare: each target's rate and its ratio to the plain SQL read, p50/p99, peak RSS."""
    parts = [f"sql={sql.per_second:.0f}/s"]
    for target in targets:
        key = target.name.split()[-1].strip("()")
        parts.append(
            f"{key}={target.per_second:.0f}/s ratio={target.per_second / sql.per_second:.2f}"
            f" p50={target.percentile(0.5):.1f}ms p99={target.percentile(0.99):.1f}ms rss={target.peak_rss // 2**20}MiB"
        )
    return "gateway: " + " ".join(parts)


def seed_demo(deployment: Deployment) -> dict[str, Any]:
    """`obank demo` against the bench database; returns what it wrote to demo.json."""
    init_development_certificates(deployment.home / "certs")
    seeded = subprocess.run(
        [sys.executable, "-m", "bank.cli", "demo"],
        cwd=PROJECT_ROOT,
        env=deployment.environment("demo"),
        capture_output=True,
        text=True,
        check=False,
    )
    if seeded.returncode != 0:
        raise SystemExit(f"obank demo failed:\n{seeded.stderr}")
    demo: dict[str, Any] = json.loads((deployment.home / "demo" / "var" / "demo.json").read_text())
    return demo


async def measure(
    deployment: Deployment,
    demo: dict[str, Any],
    seconds: float,
    concurrency: int,
    rounds: int,
    profile: Path | None = None,
) -> None:
    home = deployment.home
    # Rate limiting stays on (every request is counted, in memory as `obank serve` does without Redis), with
    # budgets far above the load so that no refusal replaces a measurement.
    ample = {kind: {"reads": "1000000/second"} for kind in ("default", "client", "ip")}
    ample_limits = {"OBANK_RATE_LIMIT_BUDGETS": json.dumps(ample)}
    tls = {
        "OBANK_TLS_CERT_FILE": str(home / "certs" / "server.pem"),
        "OBANK_TLS_KEY_FILE": str(home / "certs" / "server.key"),
    }
    upstream = Spec("upstream", "core_banking")
    specs = [
        Spec("direct", "core_banking", tls),
        Spec("in-process", "all", ample_limits),
        Spec("proxied", "gateway", ample_limits | {"OBANK_UPSTREAM_CORE_BANKING_URL": upstream.url}),
        upstream,
    ]
    with running(deployment, *specs) as (direct, in_process, proxied, _upstream):
        # One customer per gateway: a TOTP code is accepted only once.
        tokens = [
            await access_token(gateway, deployment.ca_file, demo, i) for i, gateway in enumerate((in_process, proxied))
        ]
        customers = demo["customers"]
        principal = Principal(
            subject=customers[0]["customer_id"],
            kind="customer",
            interaction_id=str(uuid.uuid4()),
            scopes=frozenset({"accounts"}),
        )

        def balances(served: ObankProcess, customer: int) -> str:
            return f"{served.url}/api/v1/accounts/{customers[customer]['accounts'][0]['id']}/balances"

        def bearer(token: str) -> Headers:
            headers = {"authorization": f"Bearer {token}"}
            return lambda: headers

        targets = [
            Target(
                "core_banking direct",
                balances(direct, 0),
                MintedAssertion(assertions_for(deployment.signing_key), principal),
                direct.process.pid,
            ),
            Target("gateway (in-process)", balances(in_process, 0), bearer(tokens[0]), in_process.process.pid),
            Target("gateway (proxied)", balances(proxied, 1), bearer(tokens[1]), proxied.process.pid),
        ]
        sql = Target("plain SQL balance read (baseline)", balances(direct, 0), lambda: {})
        context = ssl.create_default_context(cafile=deployment.ca_file)
        warm_up = min(2.0, seconds)
        for round_number in range(1, rounds + 1):
            print(f"round {round_number}: {sql.name}...", flush=True)
            await sql_load(sql, deployment.database_url, customers[0]["customer_id"], concurrency, seconds)
            for target in targets:
                print(f"round {round_number}: {target.name}...", flush=True)
                await load(target, context, concurrency, seconds, warm_up)
        if profile:  # a run of its own: sampling slows the server, so the figures above stay unprofiled
            for target in targets[:2]:
                assert target.pid is not None
                print(f"profiling {target.name}...", flush=True)
                scratch = Target(target.name, target.url, target.headers, target.pid)
                with recording(target.pid, profile, target.name.split()[-1].strip("()")):
                    await load(scratch, context, concurrency, seconds, 0.0)
    report(targets, sql, concurrency, seconds, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per target and round")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent request loops")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over all targets (interleaved)")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the direct and in-process servers into DIR")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="obank-bench-") as scratch:
        home = Path(scratch)
        home.chmod(0o755)  # as root, the embedded server runs as its own user and must reach its data
        pgdata = home / "pgdata"
        url = ensure_embedded_database(pgdata, database="bench")
        try:
            upgrade_to_head(url)
            deployment = Deployment(home=home, database_url=url)
            demo = seed_demo(deployment)
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(measure(deployment, demo, args.seconds, args.concurrency, args.rounds, args.profile))
        finally:
            stop_embedded_database(pgdata)


if __name__ == "__main__":
    main()
