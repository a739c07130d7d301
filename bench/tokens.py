"""client_credentials tokens per second with private_key_jwt over real mTLS, against a no-work baseline.

Run: `.venv/bin/python -m bench.tokens [--seconds 10] [--workers 1] [--concurrency 32] [--redis-url URL]
[--writes-only]`.
It starts a throw-away embedded PostgreSQL, a test PKI and the OAuth app on uvicorn over TLS (`--workers`
forked processes sharing one listening socket), registers an ES256 private_key_jwt client, and drives
`POST /oauth2/token` from this process over keep-alive mTLS connections. Each request carries its own
client assertion (fresh jti), signed before the clock starts so the load generator spends its time on HTTP.
The baseline is `GET /oauth2/jwks` over the same connections: TLS, HTTP and routing, but no database
and no signature. Also prints the cost of one ES256/PS256 signature and verification with joserfc here.

The same load then runs against the stack's floor (`bench.token_floor`: node-oidc-provider's work in one bare
FastAPI route on the same TLS server, no database) and against node-oidc-provider itself.

Then complete authorization code flows: PAR -> GET /oauth2/authorize (consent page) -> POST the decision
-> token, against the sign-in pages and OAuth app composed as the gateway composes them. Each simulated
customer signs in once (password + TOTP, scripted through the forms) and reuses the session, so the figure
is the OAuth flow itself; a password check (argon2id) would add its own cost to every interactive sign-in.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import ssl
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import psutil
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import text

from audit.trail import platform_units
from auth_server.oauth.app import create_oauth_app
from auth_server.oauth.client_auth.service import JWT_BEARER_ASSERTION
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.clients.schemas import ClientMetadata
from auth_server.oauth.config import JWKS_PATH, TOKEN_PATH, OAuthConfig
from auth_server.oauth.server import OAuthServer
from bench.loadgen import LoadFigures, TokenLoad, ratio, run_token_load, sample_token
from bench.profiles import MIB, RssSampler, mib, recording
from bench.token_floor import JWKS_PATH as FLOOR_JWKS_PATH
from bench.token_floor import TOKEN_PATH as FLOOR_TOKEN_PATH
from bench.token_floor import serve_floor
from obank.actor import Actor
from obank.certs import (
    certificate_pem,
    create_certificate_authority,
    issue_client_certificate,
    issue_server_certificate,
    private_key_pem,
)
from obank.database import unit_of_work
from obank.embedded_db import ensure_embedded_database, stop_embedded_database
from obank.migrate import upgrade_to_head
from obank.principal import load_internal_assertions
from obank.runtime import build_platform
from obank.server import TLSFiles, bind_socket, build_server, run_server
from obank.settings import Settings

FLOW_REDIRECT_URI = "https://tpp.bench.example/callback"
FLOW_PASSWORD = "bench harbour lantern 42"
FLOOR_ISSUER = "https://floor.obank.test"
NODE_DIR = Path(__file__).parent / "node-oidc-provider"
BENCH_KEYS = json.dumps({"bench-1": "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="})


@dataclass
class Figures:
    name: str
    operations: int
    errors: int
    seconds: float
    latencies: list[float]
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds per process group over the run

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds

    def percentile_ms(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000 if len(self.latencies) > 1 else 0.0

    def cpu_line(self) -> str:
        """CPU milliseconds per operation of each process group, and what two cores would give the service."""
        if not self.cpu_s or not self.operations:
            return ""
        per_op = {group: seconds / self.operations * 1000 for group, seconds in self.cpu_s.items()}
        parts = "  ".join(f"{group} {ms:.2f}" for group, ms in per_op.items())
        service_ms = per_op.get("server", 0.0) + per_op.get("postgres", 0.0)
        capacity = f" -> {2000 / service_ms:.0f}/s on 2 cores without the load generator" if service_ms else ""
        return f"{'':32s} CPU ms per operation: {parts}{capacity}"


class CpuMeter:
    """CPU time used by the server processes, the embedded PostgreSQL (backends included) and this process."""

    def __init__(self, servers: list[int], pgdata: Path | None) -> None:
        self.servers = [psutil.Process(pid) for pid in servers]
        pid_file = next(pgdata.rglob("postmaster.pid"), None) if pgdata else None
        self.postmaster = psutil.Process(int(pid_file.read_text().split()[0])) if pid_file else None
        self.me = psutil.Process()

    def sample(self) -> dict[str, float]:
        def used(process: psutil.Process) -> float:
            times = process.cpu_times()
            return float(times.user + times.system)

        sample = {"server": sum(used(p) for p in self.servers), "load generator": used(self.me)}
        if self.postmaster is not None:
            times = self.postmaster.cpu_times()
            # Backends that exited during the run are counted in the postmaster's children times.
            backends = sum(used(child) for child in self.postmaster.children(recursive=True) if child.is_running())
            sample["postgres"] = times.user + times.system + times.children_user + times.children_system + backends
        return sample


def write_pki(directory: Path) -> None:
    ca_cert, ca_key = create_certificate_authority("bench CA")
    server_cert, server_key = issue_server_certificate(ca_cert, ca_key)
    client_cert, client_key = issue_client_certificate(ca_cert, ca_key, "CN=Bench TPP,O=Bench,C=GB")
    for name, cert, key in (("server", server_cert, server_key), ("tpp", client_cert, client_key)):
        (directory / f"{name}.pem").write_bytes(certificate_pem(cert))
        (directory / f"{name}.key").write_bytes(private_key_pem(key))
    (directory / "ca.pem").write_bytes(certificate_pem(ca_cert))


def settings_for(database_url: str, directory: Path, redis_url: str | None) -> Settings:
    return Settings(
        env="test",
        data_dir=directory / "var",
        certs_dir=directory,
        database_url=database_url,
        redis_url=redis_url,
        encryption_keys=BENCH_KEYS,
        active_encryption_key_id="bench-1",
        log_level="WARNING",
    )


async def register_client(settings: Settings, key: ECKey) -> str:
    platform = build_platform(settings)
    try:
        key.ensure_kid()
        metadata = ClientMetadata(
            client_name="Bench TPP",
            grant_types=["client_credentials"],
            scope="accounts payments",
            token_endpoint_auth_method="private_key_jwt",
            jwks={"keys": [{**key.as_dict(private=False), "kid": key.kid}]},
        )
        async with platform_units(platform).begin(Actor.system("bench")) as uow:
            record = await clients_service.register_client(uow, metadata)
        return record.client_id
    finally:
        await platform.close()


def serve(sock: socket.socket, settings: Settings, issuer: str, directory: Path) -> None:
    """One server process (forked): its own engine and key cache, the shared listening socket."""
    from obank.log import configure_logging

    configure_logging("WARNING")
    platform = build_platform(settings)
    app = create_oauth_app(platform, OAuthServer.build(platform, config=OAuthConfig(issuer=issuer)))
    files = TLSFiles(directory / "server.pem", directory / "server.key", directory / "ca.pem")
    run_server(build_server(app, files), sock)


def assertion(client_id: str, key: ECKey, audience: str) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key, algorithms=["ES256"])


Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Target:
    """Where the server listens, and the PKI directory holding the CA and the TPP's certificate."""

    base_url: str
    directory: Path
    counter: Iterator[int] = field(default_factory=lambda: iter(range(10**9)))  # one assertion per request, ever

    def client(self, concurrency: int) -> httpx.AsyncClient:
        context = ssl.create_default_context(cafile=self.directory / "ca.pem")
        context.load_cert_chain(self.directory / "tpp.pem", self.directory / "tpp.key")
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        return httpx.AsyncClient(base_url=self.base_url, verify=context, limits=limits, timeout=30)


async def in_process(settings: Settings, directory: Path, seconds: float, concurrency: int) -> tuple[float, float]:
    """Tokens/s and CPU ms per token calling the services directly: no HTTP, TLS or load generator in the way."""
    from cryptography import x509

    from auth_server.oauth.tokens import grant_types as grants

    key = ECKey.generate_key("P-256", private=True)
    client_id = await register_client(settings, key)
    platform = build_platform(settings)
    server = OAuthServer.build(platform, config=OAuthConfig(issuer="https://bench.obank.test"))
    certificate = x509.load_pem_x509_certificate((directory / "tpp.pem").read_bytes())
    forms = (
        {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER_ASSERTION,
            "client_assertion": assertion(client_id, key, server.config.issuer),
        }
        for _ in range(10**9)
    )

    units = platform_units(platform)

    async def issue() -> None:
        async with units.begin(Actor.system("bench")) as uow:
            form = next(forms)
            caller = await server.authenticator.authenticate(uow.session, form, certificate)
            await grants.client_credentials(uow, server, caller, form)

    try:
        for _ in range(50):
            await issue()
        issued = 0
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal issued
            while time.perf_counter() < deadline:
                await issue()
                issued += 1

        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await server.close()
        await platform.close()
    # The assertion signing above is the client's work, not the server's: take it out of the CPU figure.
    signing_s = timed_signing(key, client_id, issued)
    return issued / wall, (cpu - signing_s) / issued * 1000


def timed_signing(key: ECKey, client_id: str, count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        assertion(client_id, key, "https://bench.obank.test")
    return time.process_time() - started


def micro_benchmarks() -> None:
    """Microseconds per signature and verification, as the token endpoint does them."""
    claims = {"iss": "https://bank.example", "sub": "client", "exp": 2_000_000_000, "jti": "x", "scope": "accounts"}
    for alg, key in (
        ("ES256", ECKey.generate_key("P-256", private=True)),
        ("PS256", RSAKey.generate_key(2048, private=True)),
    ):
        rounds = 2000 if alg == "ES256" else 300
        started = time.perf_counter()
        for _ in range(rounds):
            token = jwt.encode({"alg": alg}, claims, key, algorithms=[alg])
        sign_us = (time.perf_counter() - started) / rounds * 1e6
        started = time.perf_counter()
        for _ in range(rounds):
            jwt.decode(token, key, algorithms=[alg])
        verify_us = (time.perf_counter() - started) / rounds * 1e6
        print(f"{alg}: sign {sign_us:7.1f} us   verify {verify_us:7.1f} us   (joserfc, one core)")


async def group_writes(settings: Settings, seconds: float, concurrency: int) -> tuple[float, float, float]:
    """Tokens/s, CPU us per token and tokens per transaction of the group-committed writes alone (signed beforehand)."""
    from auth_server.oauth.tokens.models import SubjectKind

    key = ECKey.generate_key("P-256", private=True)
    client_id = await register_client(settings, key)
    platform = build_platform(settings)
    server = OAuthServer.build(platform, config=OAuthConfig(issuer="https://bench.obank.test"))
    tokens = server.tokens
    try:
        async with unit_of_work(platform.sessions) as session:
            client = await clients_service.get_client(session, client_id)
        pending = [
            await tokens.sign_access_token(
                client=client,
                grant_type="client_credentials",
                subject=client_id,
                subject_kind=SubjectKind.CLIENT,
                scopes=["accounts"],
                certificate_thumbprint="q" * 43,
            )
            for _ in range(int(seconds * 3000) + 500)
        ]
        for item in pending[:50]:
            await tokens.group_commit.submit(item)  # warm-up: connections, statement caches
        queue = iter(pending[50:])
        issued: list[uuid.UUID] = []
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal issued
            for item in queue:
                if time.perf_counter() >= deadline:
                    return
                await tokens.group_commit.submit(item)
                issued.append(item.issued.jti)

        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        async with unit_of_work(platform.sessions) as session:
            commits = await session.scalar(
                text("SELECT count(DISTINCT xmin::text) FROM auth_server.issued_tokens WHERE id = ANY(:ids)"),
                {"ids": issued},
            )
    finally:
        await server.close()
        await platform.close()
    return len(issued) / wall, cpu / len(issued) * 1e6, len(issued) / max(1, int(commits or 0))


def node_load_figures(load: LoadFigures, cpu: dict[str, float]) -> Figures:
    """The generators' figures in the form the other measurements print."""
    latencies = [latency for result in load.results for latency in result.latencies]
    return Figures(load.name, load.operations, load.errors, load.seconds, latencies, cpu)


def measure_token_load(
    name: str, load: TokenLoad, generators: int, servers: list[int], pgdata: Path | None, profile: Path | None = None
) -> tuple[Figures, LoadFigures, int]:
    """One load against `servers`: its figures (server CPU included), the generators' own, and peak server RSS."""
    meter = CpuMeter(servers, pgdata)
    rss = RssSampler(servers)
    before: dict[str, float] = {}

    with ExitStack() as profiling:

        def start() -> None:
            if profile:  # from the common start: the generators' connection handshakes stay out of the profile
                profiling.enter_context(recording(servers[0], profile, name.split()[0]))
            before.update(meter.sample())
            rss.start()

        generated = run_token_load(name, load, generators, on_start=start)
    peak = rss.stop()
    cpu = {group: used - before[group] for group, used in meter.sample().items()}
    cpu.pop("load generator", None)  # this process only waited; the generators report their own CPU
    return node_load_figures(generated, cpu), generated, peak


def print_load(figures: Figures, generated: LoadFigures) -> None:
    print(
        f"{figures.name:32s} {figures.per_second:8.0f}/s  p50 {figures.percentile_ms(50):6.2f} ms"
        f"  p99 {figures.percentile_ms(99):6.2f} ms  errors {figures.errors}"
    )
    print(figures.cpu_line())
    print(generated.generator_line())


def install_node_provider() -> None:
    """`npm ci` of bench/node-oidc-provider (pinned by its lock file) into its git-ignored node_modules."""
    installed = NODE_DIR / "node_modules" / "oidc-provider" / "package.json"
    wanted = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]["oidc-provider"]
    if installed.exists() and json.loads(installed.read_text())["version"] == wanted:
        return
    print(f"installing oidc-provider {wanted} with npm ci...", flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, check=True)


@contextmanager
def node_provider(directory: Path, client_id: str, key: ECKey, workers: int) -> Iterator[tuple[str, list[int]]]:
    """node-oidc-provider (FAPI 2.0) over TLS on a free port: its base URL and its processes' ids."""
    install_node_provider()
    probe = bind_socket("127.0.0.1", 0)
    port = probe.getsockname()[1]
    probe.close()
    config = {
        "port": port,
        "issuer": f"https://127.0.0.1:{port}",
        "client_id": client_id,
        "client_jwks": {"keys": [{**key.as_dict(private=False), "kid": key.kid, "alg": "ES256", "use": "sig"}]},
        "cert_file": str(directory / "server.pem"),
        "key_file": str(directory / "server.key"),
        "ca_file": str(directory / "ca.pem"),
        "workers": workers,
    }
    config_file = directory / "node-oidc-provider.json"
    config_file.write_text(json.dumps(config))
    server = subprocess.Popen(["node", "server.mjs", str(config_file)], cwd=NODE_DIR, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # "listening" once every worker serves, or EOF if it failed
        if line.strip() != "listening":
            raise RuntimeError(f"node-oidc-provider did not start (exit {server.wait(10)})")
        process = psutil.Process(server.pid)
        yield config["issuer"], [server.pid, *(child.pid for child in process.children(recursive=True))]
    finally:
        server.terminate()
        server.wait(10)


@contextmanager
def forked_servers(
    sock: socket.socket, count: int, target: Callable[..., None], *arguments: object
) -> Iterator[list[int]]:
    """`count` forked processes serving `target(sock, *arguments)` on the shared listening socket: their pids.

    On the way out they are stopped and the socket closed."""
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=target, args=(sock, *arguments), daemon=True) for _ in range(count)]
    for process in workers:
        process.start()
    try:
        yield [process.pid for process in workers if process.pid is not None]
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.join(10)
        sock.close()


async def compare_with_floor(
    args: argparse.Namespace, directory: Path, client_id: str, key: ECKey
) -> tuple[Figures, LoadFigures]:
    """The same token load against the stack's floor (`bench.token_floor`), on `--workers` processes."""
    sock = bind_socket("127.0.0.1", 0)
    base_url = f"https://127.0.0.1:{sock.getsockname()[1]}"
    public_jwk = {**key.as_dict(private=False), "kid": key.kid}
    with forked_servers(sock, args.workers, serve_floor, directory, client_id, public_jwk, FLOOR_ISSUER) as servers:
        await wait_until_serving(base_url, directory, FLOOR_JWKS_PATH)
        load = token_load(args, directory, base_url, FLOOR_TOKEN_PATH, client_id, key, FLOOR_ISSUER, FLOOR_JWKS_PATH)
        await asyncio.to_thread(run_token_load, "warm-up", replace(load, seconds=1.0), args.generators)
        figures, generated, _ = await asyncio.to_thread(
            measure_token_load, "stack floor token", load, args.generators, servers, None
        )
    return figures, generated


async def compare_with_node(
    args: argparse.Namespace, directory: Path, client_id: str, key: ECKey
) -> tuple[Figures, LoadFigures, int, int]:
    """The same token load against node-oidc-provider: figures, generators' figures, idle and peak RSS."""
    with node_provider(directory, client_id, key, args.node_workers or args.workers) as (base_url, pids):
        load = token_load(args, directory, base_url, "/token", client_id, key, base_url, "/jwks")
        print(f"node-oidc-provider issues: {await asyncio.to_thread(sample_token, load)}")
        await asyncio.to_thread(run_token_load, "warm-up", replace(load, seconds=1.0), args.generators)
        idle = RssSampler(pids).rss()
        figures, generated, peak = await asyncio.to_thread(
            measure_token_load, "node-oidc-provider token", load, args.generators, pids, None
        )
    return figures, generated, idle, peak


def token_load(
    args: argparse.Namespace,
    directory: Path,
    base_url: str,
    path: str,
    client_id: str,
    key: ECKey,
    audience: str,
    warm_up_path: str,
) -> TokenLoad:
    """client_credentials with private_key_jwt over mTLS: `--concurrency` connections for `--seconds`."""
    per_generator = int(args.seconds * args.max_rate / args.generators) + 500
    return TokenLoad(
        base_url=base_url,
        path=path,
        ca_file=directory / "ca.pem",
        cert_file=directory / "tpp.pem",
        key_file=directory / "tpp.key",
        client_id=client_id,
        private_jwk={**key.as_dict(private=True), "kid": key.kid},
        audience=audience,
        connections=args.concurrency,
        seconds=args.seconds,
        assertions=per_generator,
        warm_up_path=warm_up_path,
    )


async def measure(args: argparse.Namespace, directory: Path, database_url: str, pgdata: Path | None) -> None:
    settings = settings_for(database_url, directory, args.redis_url)
    if not args.compare_only:
        writes_rate, writes_cpu_us, per_transaction = await group_writes(settings, args.seconds, args.concurrency)
        writes_line = (
            f"group-committed writes alone (tokens signed beforehand): {writes_rate:.0f}/s, "
            f"{writes_cpu_us:.0f} us CPU per token in this process, ~{per_transaction:.1f} tokens per commit"
        )
        if args.writes_only:
            print(writes_line)
            return
        direct_rate, cpu_ms = await in_process(settings, directory, args.seconds, args.concurrency)
    key = ECKey.generate_key("P-256", private=True)
    client_id = await register_client(settings, key)
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    base_url = f"https://127.0.0.1:{port}"
    issuer = "https://bench.obank.test"
    load_internal_assertions(settings)  # create the development key once, before the workers race for it
    with forked_servers(sock, args.workers, serve, settings, issuer, directory) as servers:
        await wait_until_serving(base_url, directory)
        load = token_load(args, directory, base_url, TOKEN_PATH, client_id, key, issuer, JWKS_PATH)
        print(f"obank issues: {await asyncio.to_thread(sample_token, load)}")
        await asyncio.to_thread(run_token_load, "warm-up", replace(load, seconds=1.0), args.generators)
        idle_rss = RssSampler(servers).rss()
        jwks_load = replace(load, path=JWKS_PATH, get=True)
        baseline, baseline_generated, _ = await asyncio.to_thread(
            measure_token_load, "GET /oauth2/jwks (baseline)", jwks_load, args.generators, servers, pgdata
        )
        tokens, tokens_generated, token_rss = await asyncio.to_thread(
            measure_token_load, "client_credentials token", load, args.generators, servers, pgdata
        )
        if args.profile:  # a run of its own: sampling slows the server, so the figures above stay unprofiled
            await asyncio.to_thread(
                measure_token_load, "tokens profiled", load, args.generators, servers, None, args.profile
            )
    print(
        f"server workers={args.workers} concurrency={args.concurrency} seconds={args.seconds} "
        f"generators={args.generators} replay cache={'redis' if args.redis_url else 'postgresql'} "
        f"cores={os.cpu_count()}"
    )
    print_load(baseline, baseline_generated)
    print_load(tokens, tokens_generated)
    print(f"tokens/baseline: {tokens.per_second / baseline.per_second:.2f}")
    print(f"obank server RSS: idle {mib(idle_rss)}, under token load {mib(token_rss)} (peak, all workers)")
    floor, floor_generated = await compare_with_floor(args, directory, client_id, key)
    print_load(floor, floor_generated)
    node, node_generated, node_idle, node_peak = await compare_with_node(args, directory, client_id, key)
    print_load(node, node_generated)
    print(f"node-oidc-provider RSS: idle {mib(node_idle)}, under token load {mib(node_peak)} (peak, all workers)")
    if not args.compare_only:
        flows = await measure_flows(args, directory, settings, pgdata)
        print(
            f"{flows.name:32s} {flows.per_second:8.0f}/s  p50 {flows.percentile_ms(50):6.2f} ms"
            f"  p99 {flows.percentile_ms(99):6.2f} ms  errors {flows.errors}  (4 requests per flow, signed-in browsers)"
        )
        print(flows.cpu_line())
        print(
            f"in-process issuance (1 process, no HTTP/TLS): {direct_rate:.0f}/s, {cpu_ms:.2f} ms CPU per token"
            f" -> at most {2000 / cpu_ms:.0f}/s on 2 cores given to the service alone"
        )
        print(writes_line)
    print(final_line(tokens, node, floor, token_rss, node_peak))


def final_line(obank: Figures, node: Figures, floor: Figures, obank_rss: int, node_rss: int) -> str:
    """The one line runs compare: rates, obank/node, the stack floor's rate and its ratios, p50/p99, peak RSS."""
    return (
        f"tokens: obank={obank.per_second:.0f}/s node={node.per_second:.0f}/s"
        f" ratio={ratio(obank.per_second, node.per_second):.2f}"
        f" floor={floor.per_second:.0f}/s obank/floor={ratio(obank.per_second, floor.per_second):.2f}"
        f" floor/node={ratio(floor.per_second, node.per_second):.2f}"
        f" p50 obank={obank.percentile_ms(50):.1f}ms node={node.percentile_ms(50):.1f}ms"
        f" p99 obank={obank.percentile_ms(99):.1f}ms node={node.percentile_ms(99):.1f}ms"
        f" rss obank={obank_rss // MIB}MiB node={node_rss // MIB}MiB"
    )


def serve_full(sock: socket.socket, settings: Settings, issuer: str, directory: Path) -> None:
    """One server process with the sign-in pages and the OAuth app, routed by path as the gateway does."""
    from fastapi import FastAPI

    from auth_server.app import PAGE_PREFIXES
    from auth_server.app import create_app as create_pages_app
    from auth_server.oauth.app import MOUNT_PREFIXES
    from gateway.routing import PrefixRouter, Route
    from obank.log import configure_logging

    configure_logging("WARNING")
    platform = build_platform(settings)
    oauth = create_oauth_app(platform, OAuthServer.build(platform, config=OAuthConfig(issuer=issuer)))
    pages = create_pages_app(platform)
    routes = [Route(p, pages) for p in PAGE_PREFIXES] + [Route(p, oauth) for p in MOUNT_PREFIXES]
    files = TLSFiles(directory / "server.pem", directory / "server.key", directory / "ca.pem")
    run_server(build_server(PrefixRouter(routes, fallback=FastAPI()), files), sock)


async def flow_fixtures(settings: Settings, key: ECKey, customers: int) -> tuple[str, list[tuple[str, str]]]:
    """A code-flow client and `customers` logins enrolled in TOTP: (username, TOTP secret) each."""
    from datetime import UTC, datetime, timedelta

    import pyotp

    from auth_server.identities import service as identities
    from auth_server.identities.schemas import IdentityKind, NewIdentity
    from auth_server.mfa import service as mfa
    from auth_server.mfa.replay import DatabaseOnlyGuard

    platform = build_platform(settings)
    logins: list[tuple[str, str]] = []
    try:
        key.ensure_kid()
        metadata = ClientMetadata(
            client_name="Bench TPP",
            redirect_uris=[FLOW_REDIRECT_URI],
            grant_types=["authorization_code"],
            scope="openid",
            token_endpoint_auth_method="private_key_jwt",
            jwks={"keys": [{**key.as_dict(private=False), "kid": key.kid}]},
        )
        units = platform_units(platform)
        async with units.begin(Actor.system("bench")) as uow:
            record = await clients_service.register_client(uow, metadata)
        now = datetime.now(UTC)
        for _ in range(customers):
            username = f"bench-{uuid.uuid4().hex[:10]}"
            new = NewIdentity(
                kind=IdentityKind.CUSTOMER,
                username=username,
                password=FLOW_PASSWORD,
                customer_id=uuid.uuid4(),
            )
            async with units.begin(Actor.system("bench")) as uow:
                identity = await identities.create_identity(uow, new)
                enrolment = await mfa.begin_enrolment(uow, identity.id, username)
                previous = pyotp.TOTP(enrolment.secret).at(now - timedelta(seconds=30))
                await mfa.confirm_enrolment(uow, identity.id, previous, DatabaseOnlyGuard(), now=now)
            logins.append((username, enrolment.secret))
        return record.client_id, logins
    finally:
        await platform.close()


def _hidden_fields(page: str) -> dict[str, str]:
    import html
    import re

    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in found}


async def sign_in(http: httpx.AsyncClient, username: str, secret: str) -> None:
    """The sign-in forms, scripted: password page, then the TOTP page."""
    import pyotp

    page = await http.get("/login")
    response = await http.post(
        "/login", data={**_hidden_fields(page.text), "username": username, "password": FLOW_PASSWORD}
    )
    page = await http.get(response.headers["location"])
    response = await http.post("/login/otp", data={**_hidden_fields(page.text), "otp": pyotp.TOTP(secret).now()})
    if response.status_code != 303:
        raise RuntimeError(f"sign-in failed: {response.status_code}")


async def measure_flows(args: argparse.Namespace, directory: Path, settings: Settings, pgdata: Path | None) -> Figures:
    """Complete PAR -> authorize -> consent -> token flows per second, over `args.concurrency` signed-in browsers."""
    import base64
    import hashlib
    import secrets
    from urllib.parse import parse_qs, urlsplit

    from auth_server.oauth.config import PAR_PATH

    key = ECKey.generate_key("P-256", private=True)
    client_id, logins = await flow_fixtures(settings, key, args.concurrency)
    sock = bind_socket("127.0.0.1", 0)
    base_url = f"https://127.0.0.1:{sock.getsockname()[1]}"
    issuer = base_url
    target = Target(base_url, directory)
    latencies: list[float] = []
    errors = 0
    with forked_servers(sock, args.workers, serve_full, settings, issuer, directory) as servers:
        await wait_until_serving(base_url, directory)
        browsers = [target.client(1) for _ in logins]
        tpps = [target.client(1) for _ in logins]
        for http, (username, secret) in zip(browsers, logins, strict=True):
            await sign_in(http, username, secret)

        async def one_flow(browser: httpx.AsyncClient, tpp: httpx.AsyncClient) -> bool:
            verifier = secrets.token_urlsafe(48)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            pushed = await tpp.post(
                PAR_PATH,
                data={
                    "response_type": "code",
                    "client_id": client_id,
                    "redirect_uri": FLOW_REDIRECT_URI,
                    "scope": "openid",
                    "state": "bench",
                    "nonce": "bench",
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                    "client_assertion_type": JWT_BEARER_ASSERTION,
                    "client_assertion": assertion(client_id, key, issuer),
                },
            )
            if pushed.status_code != 201:
                return False
            page = await browser.get(
                "/oauth2/authorize", params={"client_id": client_id, "request_uri": pushed.json()["request_uri"]}
            )
            if page.status_code != 200:
                return False
            decided = await browser.post(
                "/oauth2/authorize/decision", data={**_hidden_fields(page.text), "decision": "approve"}
            )
            code = parse_qs(urlsplit(decided.headers.get("location", "")).query).get("code")
            if decided.status_code != 303 or not code:
                return False
            token = await tpp.post(
                TOKEN_PATH,
                data={
                    "grant_type": "authorization_code",
                    "code": code[0],
                    "redirect_uri": FLOW_REDIRECT_URI,
                    "code_verifier": verifier,
                    "client_assertion_type": JWT_BEARER_ASSERTION,
                    "client_assertion": assertion(client_id, key, issuer),
                },
            )
            return token.status_code == 200

        deadline = time.perf_counter() + args.seconds

        async def worker(browser: httpx.AsyncClient, tpp: httpx.AsyncClient) -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                if await one_flow(browser, tpp):
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

        meter = CpuMeter(servers, pgdata)
        before = meter.sample()
        started = time.perf_counter()
        await asyncio.gather(*(worker(b, t) for b, t in zip(browsers, tpps, strict=True)))
        elapsed = time.perf_counter() - started
        cpu = {group: used - before[group] for group, used in meter.sample().items()}
        for http in (*browsers, *tpps):
            await http.aclose()
    return Figures("PAR->authorize->consent->token", len(latencies), errors, elapsed, latencies, cpu)


async def wait_until_serving(base_url: str, directory: Path, path: str = JWKS_PATH) -> None:
    context = ssl.create_default_context(cafile=directory / "ca.pem")
    async with httpx.AsyncClient(base_url=base_url, verify=context) as http:
        for _ in range(300):
            try:
                if (await http.get(path)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="server processes sharing the listening socket")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent requests (keep-alive connections)")
    parser.add_argument("--redis-url", default=None, help="use Redis for the jti replay cache")
    parser.add_argument("--database-url", default=None, help="a migrated database you can discard")
    parser.add_argument("--writes-only", action="store_true", help="measure the group-committed writes alone")
    parser.add_argument("--generators", type=int, default=1, help="load generator processes sharing the connections")
    parser.add_argument("--node-workers", type=int, default=0, help="node-oidc-provider processes (default --workers)")
    parser.add_argument(
        "--max-rate", type=int, default=4000, help="tokens/s the pre-signed assertions must last for (per run)"
    )
    parser.add_argument(
        "--compare-only", action="store_true", help="only the token load against obank and node-oidc-provider"
    )
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the server under the token load into DIR")
    args = parser.parse_args()
    if not args.compare_only:
        micro_benchmarks()
    with tempfile.TemporaryDirectory(prefix="obank-bench-tokens-") as temporary:
        directory = Path(temporary)
        write_pki(directory)
        pgdata = directory / "pg"
        database_url = args.database_url or ensure_embedded_database(pgdata, database="bench")
        try:
            upgrade_to_head(database_url)
            asyncio.run(measure(args, directory, database_url, None if args.database_url else pgdata))
        finally:
            if args.database_url is None:
                stop_embedded_database(pgdata)


if __name__ == "__main__":
    main()
