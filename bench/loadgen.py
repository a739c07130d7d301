"""A lean mTLS load generator for token endpoints: pre-signed assertions, one or more processes, its own CPU measured.

Each generator process signs its client assertions (fresh jti each) before the clock starts, opens its share
of keep-alive mTLS connections (aiohttp on uvloop), waits for the common start signal, then POSTs
`client_credentials` requests back to back for the same duration. It reports its latencies, errors and the
CPU seconds it used, so a run can tell whether the generator, not the server, was the limit.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import ssl
import statistics
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Above this share of one core a generator process is likely the bottleneck: add generator processes.
SATURATED_SHARE = 0.85


@dataclass(frozen=True)
class TokenLoad:
    """What every generator process needs: where to send, as whom, how hard and how long."""

    base_url: str
    path: str
    ca_file: Path
    cert_file: Path
    key_file: Path
    client_id: str
    private_jwk: dict[str, Any]
    audience: str
    connections: int
    seconds: float
    assertions: int  # per generator process; signed before the clock starts
    warm_up_path: str  # a cheap GET each connection makes first, so handshakes happen before the clock
    form: dict[str, str] = field(default_factory=lambda: {"grant_type": "client_credentials"})
    get: bool = False  # GET `path` with no assertion instead (a no-work baseline)


@dataclass
class GeneratorResult:
    """One generator process's measured window."""

    latencies: list[float]
    errors: int
    first_error: str
    elapsed: float
    cpu_seconds: float
    ran_out: bool  # it used every pre-signed assertion before the time was up

    @property
    def core_share(self) -> float:
        return self.cpu_seconds / self.elapsed if self.elapsed else 0.0


@dataclass
class LoadFigures:
    """The generators' results together: rate, latency percentiles, the generators' CPU."""

    name: str
    results: list[GeneratorResult]

    @property
    def operations(self) -> int:
        return sum(len(result.latencies) for result in self.results)

    @property
    def errors(self) -> int:
        return sum(result.errors for result in self.results)

    @property
    def seconds(self) -> float:
        return max(result.elapsed for result in self.results)

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: int) -> float:
        return percentile_ms([latency for result in self.results for latency in result.latencies], q)

    @property
    def generator_cpu_seconds(self) -> float:
        return sum(result.cpu_seconds for result in self.results)

    def generator_line(self) -> str:
        """The generators' CPU: total, per request, and the busiest process's share of one core."""
        busiest = max(result.core_share for result in self.results)
        per_request = self.generator_cpu_seconds / self.operations * 1e6 if self.operations else 0.0
        warning = "  GENERATOR-BOUND: add --generators" if busiest > SATURATED_SHARE else ""
        ran_out = "  RAN OUT OF ASSERTIONS" if any(result.ran_out for result in self.results) else ""
        return (
            f"{'':32s} load generator: {len(self.results)} process(es), {self.generator_cpu_seconds:.2f} s CPU"
            f" ({per_request:.0f} us/request), busiest at {busiest:.0%} of a core{warning}{ran_out}"
        )


def percentile_ms(latencies: list[float], q: int) -> float:
    """The q-th percentile in milliseconds (0 with fewer than two samples)."""
    return statistics.quantiles(latencies, n=100)[q - 1] * 1000 if len(latencies) > 1 else 0.0


def split(total: int, parts: int) -> list[int]:
    """`total` spread over `parts` as evenly as integers allow (no part empty unless total < parts)."""
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


def sign_assertions(load: TokenLoad, count: int) -> list[str]:
    """`count` private_key_jwt assertions (RFC 7523 s3), each with its own jti, valid for five minutes."""
    from joserfc import jwt
    from joserfc.jwk import import_key

    key = import_key(load.private_jwk)
    header = {"alg": "ES256", "kid": load.private_jwk["kid"]}
    now = int(time.time())
    claims = {"iss": load.client_id, "sub": load.client_id, "aud": load.audience, "iat": now, "exp": now + 300}
    return [jwt.encode(header, {**claims, "jti": str(uuid.uuid4())}, key, algorithms=["ES256"]) for _ in range(count)]


async def _generate(load: TokenLoad, connections: int, ready: Any, go: Event) -> GeneratorResult:
    import aiohttp

    assertions = iter(sign_assertions(load, 0 if load.get else load.assertions))
    context = ssl.create_default_context(cafile=load.ca_file)
    context.load_cert_chain(load.cert_file, load.key_file)
    connector = aiohttp.TCPConnector(limit=connections, ssl=context, force_close=False)
    latencies: list[float] = []
    errors = 0
    first_error = ""
    ran_out = False
    async with aiohttp.ClientSession(base_url=load.base_url, connector=connector) as session:

        async def handshake() -> None:
            async with session.get(load.warm_up_path) as response:
                await response.read()

        await asyncio.gather(*(handshake() for _ in range(connections)))
        ready.set()
        await asyncio.get_running_loop().run_in_executor(None, go.wait)
        deadline = time.perf_counter() + load.seconds

        async def worker() -> None:
            nonlocal errors, first_error, ran_out
            while time.perf_counter() < deadline:
                if load.get:
                    started = time.perf_counter()
                    async with session.get(load.path) as response:
                        body = await response.read()
                        status = response.status
                    if status == 200:
                        latencies.append(time.perf_counter() - started)
                    else:
                        errors += 1
                    continue
                client_assertion = next(assertions, None)
                if client_assertion is None:
                    ran_out = True
                    return
                form = {
                    **load.form,
                    "client_assertion_type": JWT_BEARER_ASSERTION,
                    "client_assertion": client_assertion,
                }
                started = time.perf_counter()
                async with session.post(load.path, data=form) as response:
                    body = await response.read()
                    status = response.status
                if status == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1
                    first_error = first_error or f"{status} {body[:300]!r}"

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return GeneratorResult(latencies, errors, first_error, elapsed, cpu, ran_out)


def _generator_process(load: TokenLoad, connections: int, ready: Any, go: Event, results: Any) -> None:
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        results.put(runner.run(_generate(load, connections, ready, go)))


def run_token_load(name: str, load: TokenLoad, generators: int, on_start: Any = None) -> LoadFigures:
    """Run `generators` processes sharing `load.connections`; `on_start()` runs just before the common start."""
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no copy of the caller's event loop
    go = context.Event()
    results = context.Queue()
    readies = []
    processes = []
    for connections in split(load.connections, generators):
        ready = context.Event()
        process = context.Process(target=_generator_process, args=(load, connections, ready, go, results))
        process.start()
        readies.append(ready)
        processes.append(process)
    try:
        for ready, process in zip(readies, processes, strict=True):
            while not ready.wait(0.5):
                if not process.is_alive():
                    raise RuntimeError(f"a load generator for {name} exited before it was ready")
        if on_start is not None:
            on_start()
        go.set()
        collected = [results.get(timeout=load.seconds + 120) for _ in processes]
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.terminate()
    figures = LoadFigures(name, collected)
    for result in collected:
        if result.first_error:
            print(f"first error in {name}: {result.first_error}")
            break
    return figures


def describe(figures: LoadFigures) -> str:
    """One result line: rate, p50/p99, errors."""
    return (
        f"{figures.name:32s} {figures.per_second:8.0f}/s  p50 {figures.percentile_ms(50):6.2f} ms"
        f"  p99 {figures.percentile_ms(99):6.2f} ms  errors {figures.errors}"
    )


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, 0 when there is nothing to divide by."""
    return numerator / denominator if denominator else 0.0


def token_profile(access_token: str) -> str:
    """What an access token is, from its JOSE header and claims: alg, typ, and whether it is certificate-bound."""
    import base64
    import json

    def segment(index: int) -> dict[str, Any]:
        part = access_token.split(".")[index]
        decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return decoded

    if access_token.count(".") != 2:
        return "opaque"
    header, claims = segment(0), segment(1)
    bound = "x5t#S256" in (claims.get("cnf") or {})
    return f"{header.get('alg')} {header.get('typ')} {'mTLS-bound' if bound else 'unbound'}"


def sample_token(load: TokenLoad) -> str:
    """One token request outside the measurement: the issued token's profile (both servers must do the same work)."""
    import httpx

    context = ssl.create_default_context(cafile=load.ca_file)
    context.load_cert_chain(load.cert_file, load.key_file)
    form = {**load.form, "client_assertion_type": JWT_BEARER_ASSERTION, "client_assertion": sign_assertions(load, 1)[0]}
    response = httpx.post(load.base_url + load.path, data=form, verify=context, timeout=30)
    if response.status_code != 200:
        raise RuntimeError(f"token request refused: {response.status_code} {response.text[:300]}")
    return token_profile(response.json()["access_token"])
