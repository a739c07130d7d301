"""Prometheus metrics of every process role: the process-wide counters, the database gauges, and /metrics.

Counters of what happens in a process (job outcomes, login failures, token issuance, payments' transitions)
live in one process-wide registry, `PROCESS_REGISTRY`, with the process collectors. Gauges read from the
database (outbox and consumer lag) are computed when scraped, at most once per `metrics_cache_s`, and the
pools' use is read from the engines. A `Scrape` is what one `/metrics` answers; `MetricsEndpoint` serves
it over ASGI (`obank serve`) and `metrics_listener` on a port of its own (`obank worker`, `obank scheme run`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR, CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.pool import QueuePool
from starlette.types import Receive, Scope, Send

from obank.log import describe_error, get_logger
from obank.outbox import repository as outbox_repository

if TYPE_CHECKING:
    from obank.runtime import Platform

METRICS_PATH = "/metrics"
# How far back consumer lag looks: the newest events of the outbox, a bounded index scan per scrape.
CONSUMER_LAG_WINDOW = 10_000
_log = get_logger("obank.metrics")

PROCESS_REGISTRY = CollectorRegistry()
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    PROCESS_REGISTRY.register(_collector)

_JOB_RUNS = Counter(
    "obank_job_runs",
    "Attempts of scheduled jobs in this process, by job and outcome (succeeded, retry, failed, abandoned).",
    ("job", "outcome"),
    registry=PROCESS_REGISTRY,
)
_LOGIN_FAILURES = Counter(
    "obank_login_failures",
    "Refused sign-in steps (password, TOTP, recovery code), by reason.",
    ("reason",),
    registry=PROCESS_REGISTRY,
)
_TOKENS_ISSUED = Counter(
    "obank_tokens_issued", "Access tokens issued, by grant type.", ("grant_type",), registry=PROCESS_REGISTRY
)
_PAYMENT_TRANSITIONS = Counter(
    "obank_payment_status_transitions",
    "Payments' committed changes of status, by the status entered.",
    ("status",),
    registry=PROCESS_REGISTRY,
)


def job_finished(job: str, outcome: str) -> None:
    """Count one attempt of a scheduled job by how it ended."""
    _JOB_RUNS.labels(job, outcome).inc()


def login_failed(reason: str) -> None:
    """Count one refused sign-in step by its reason (the verdict's code, never the login)."""
    _LOGIN_FAILURES.labels(reason).inc()


def token_issued(grant_type: str) -> None:
    _TOKENS_ISSUED.labels(grant_type).inc()


def payment_status_changed(session: AsyncSession, status: str) -> None:
    """Count a payment entering `status` once `session`'s transaction commits: a retried one counts once."""
    if not session.in_transaction():  # a session begins with its first statement; this is the transaction's start
        session.sync_session.begin()
    event.listen(
        session.sync_session, "after_commit", lambda _session: _PAYMENT_TRANSITIONS.labels(status).inc(), once=True
    )


class Collector(Protocol):
    def collect(self) -> Iterable[Metric]: ...


class WatchedConsumer(Protocol):
    """What consumer lag needs of a consumer (`obank.outbox.consumers.Consumer`)."""

    @property
    def name(self) -> str: ...

    @property
    def topics(self) -> tuple[str, ...]: ...


@dataclass
class _DatabaseReading:
    unpublished: int
    oldest_age_s: float
    consumer_lag: dict[str, int]


class DatabaseMetrics:
    """The outbox's and consumers' lag read from the database when scraped (cached), and the pools' use."""

    def __init__(
        self,
        engines: Mapping[str, AsyncEngine],
        *,
        cache_s: float = 5.0,
        timeout_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engines = dict(engines)
        self.cache_s = cache_s
        self.timeout_s = timeout_s
        self._clock = clock
        self._consumers: dict[str, tuple[str, ...]] = {}
        self._reading: _DatabaseReading | None = None
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    def watch_consumers(self, consumers: Iterable[WatchedConsumer]) -> None:
        """Report the lag of `consumers` (those this process runs) from now on."""
        self._consumers.update({consumer.name: tuple(consumer.topics) for consumer in consumers})

    async def refresh(self) -> None:
        """Read the database unless the last reading is younger than `cache_s`; a failed read reports nothing."""
        async with self._lock:
            now = self._clock()
            if self._read_at is not None and now - self._read_at < self.cache_s:
                return
            self._read_at = now
            try:
                self._reading = await asyncio.wait_for(self._read(), self.timeout_s)
            except (SQLAlchemyError, OSError, TimeoutError) as exc:
                _log.warning("metrics_database_unavailable", exception=describe_error(exc))
                self._reading = None

    async def _read(self) -> _DatabaseReading:
        engine = next(iter(self.engines.values()))
        pairs = [(name, topic) for name, topics in self._consumers.items() for topic in topics]
        async with AsyncSession(engine) as session:
            unpublished, oldest_age_s = await outbox_repository.unpublished_lag(session)
            lag = await outbox_repository.consumer_lag(session, pairs, CONSUMER_LAG_WINDOW) if pairs else {}
        return _DatabaseReading(unpublished, oldest_age_s, {name: lag.get(name, 0) for name in self._consumers})

    def collect(self) -> Iterator[Metric]:
        reading = self._reading
        up = GaugeMetricFamily(
            "obank_metrics_database_up", "Whether the last read of the database gauges succeeded (1) or not (0)."
        )
        up.add_metric([], 0 if reading is None else 1)
        yield up
        if reading is not None:
            yield GaugeMetricFamily(
                "obank_outbox_unpublished_events", "Committed outbox events not yet published.", reading.unpublished
            )
            yield GaugeMetricFamily(
                "obank_outbox_oldest_unpublished_age_seconds",
                "Age of the oldest unpublished outbox event (0 when none waits).",
                reading.oldest_age_s,
            )
            if reading.consumer_lag:
                lag = GaugeMetricFamily(
                    "obank_consumer_lag_events",
                    f"Events on a consumer's topics, among the newest {CONSUMER_LAG_WINDOW}, it has not applied yet.",
                    labels=("consumer",),
                )
                for name, count in sorted(reading.consumer_lag.items()):
                    lag.add_metric([name], count)
                yield lag
        yield from self._pools()

    def _pools(self) -> Iterator[Metric]:
        checked_out = GaugeMetricFamily(
            "obank_db_pool_checked_out_connections", "Connections in use, by pool.", labels=("pool",)
        )
        size = GaugeMetricFamily(
            "obank_db_pool_size_connections", "Connections the pool keeps, by pool.", labels=("pool",)
        )
        overflow = GaugeMetricFamily(
            "obank_db_pool_overflow_connections", "Connections open beyond the pool's size, by pool.", labels=("pool",)
        )
        for name, engine in self.engines.items():
            pool = engine.pool
            if isinstance(pool, QueuePool):
                checked_out.add_metric([name], pool.checkedout())
                size.add_metric([name], pool.size())
                overflow.add_metric([name], max(pool.overflow(), 0))
        yield from (checked_out, size, overflow)


class Scrape:
    """What one /metrics answers: registries and collectors, those reading the database refreshed first."""

    def __init__(self, *sources: Collector) -> None:
        unique: list[Collector] = []
        for source in sources:
            if all(source is not seen for seen in unique):
                unique.append(source)
        self.sources: tuple[Collector, ...] = tuple(unique)

    def including(self, *sources: Collector) -> Scrape:
        return Scrape(*self.sources, *sources)

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()

    def render_now(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition as `accept` asks (OpenMetrics or Prometheus text) from what is in memory."""
        encode, content_type = choose_encoder(accept)
        return encode(self), content_type

    async def render(self, accept: str = "") -> tuple[bytes, str]:
        """Refresh the database gauges (within their cache), then the exposition as `render_now`."""
        await asyncio.gather(*(source.refresh() for source in self.sources if isinstance(source, DatabaseMetrics)))
        return self.render_now(accept)


class ScrapeAccess:
    """Who may scrape: the monitoring networks of `metrics_allowed_networks` (CIDRs) only."""

    def __init__(self, allowed: Sequence[str] | None) -> None:
        self.networks = None if allowed is None else [ipaddress.ip_network(network) for network in allowed]

    def admits(self, address: str | None) -> bool:
        if self.networks is None:
            return True
        try:
            ip = ipaddress.ip_address(address) if address else None
        except ValueError:
            return False
        return ip is not None and any(ip in network for network in self.networks)


class MetricsEndpoint:
    """`GET /metrics` as an ASGI app; anyone outside `allowed` (None: the caller decides) sees no such path."""

    def __init__(self, scrape: Scrape, allowed: Sequence[str] | None = None) -> None:
        self.scrape = scrape
        self.access = ScrapeAccess(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        client = scope.get("client")
        text_plain = (b"content-type", b"text/plain; charset=utf-8")
        if scope["path"].rstrip("/") != METRICS_PATH or not self.access.admits(client[0] if client else None):
            status, headers, body = 404, [text_plain], b"Not Found"
        elif scope["method"] not in ("GET", "HEAD"):
            status, headers, body = 405, [text_plain, (b"allow", b"GET, HEAD")], b"Method Not Allowed"
        else:
            accept = b",".join(value for name, value in scope["headers"] if name.lower() == b"accept")
            body, content_type = await self.scrape.render(accept.decode("latin-1"))
            status, headers = 200, [(b"content-type", content_type.encode())]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


@asynccontextmanager
async def metrics_listener(scrape: Scrape, host: str, port: int, allowed: Sequence[str]) -> AsyncIterator[int]:
    """Serve `GET /metrics` on `host:port` (plain HTTP, no signal handling of its own) while in the block;
    yields the port bound (`port` 0 picks a free one). For processes that serve nothing else."""
    from aiohttp import web

    access = ScrapeAccess(allowed)

    async def metrics(request: web.Request) -> web.StreamResponse:
        if not access.admits(request.remote):
            raise web.HTTPNotFound()
        body, content_type = await scrape.render(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get(METRICS_PATH, metrics)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        _log.info("metrics_listening", port=bound)
        yield bound
    finally:
        await runner.cleanup()


def scrape_of(app: object) -> Scrape:
    """What `app` serves at /metrics for its process (`app.state.metrics`, as the probes app of `bank.health`
    keeps it), or the process registry alone."""
    scrape = getattr(getattr(app, "state", None), "metrics", None)
    return scrape if isinstance(scrape, Scrape) else Scrape(PROCESS_REGISTRY)


def metrics_listeners(platform: Platform) -> list[Callable[[asyncio.Event], Any]]:
    """For a process serving nothing else (`obank worker`, `obank scheme run`): a job serving its /metrics on
    `OBANK_METRICS_HOST:OBANK_METRICS_PORT` until stopped; none when no port is set."""
    settings = platform.settings
    port = settings.metrics_port
    if port is None:
        return []
    scrape = Scrape(PROCESS_REGISTRY, platform.metrics)

    async def serve(stop: asyncio.Event) -> None:
        async with metrics_listener(scrape, settings.metrics_host, port, settings.metrics_allowed_networks):
            await stop.wait()

    return [serve]
