"""Liveness and readiness probes, and the process's /metrics: is the process up, can it serve (the database
answers at the migration head, Redis and Kafka answer when configured), and how it is doing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import Route

from obank.log import describe_error, get_logger
from obank.metrics import METRICS_PATH, PROCESS_REGISTRY, MetricsEndpoint, Scrape
from obank.migrate import applied_revisions, head_revisions
from obank.problems import install_problem_handler
from obank.runtime import Platform
from obank.settings import Settings

READINESS_TIMEOUT_S = 2.0
_log = get_logger("bank.health")

router = APIRouter(tags=["health"])

DependencyState = Literal["ok", "unavailable"]


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Each dependency's state; `redis` and `kafka` appear only when the process is configured to use them."""

    status: Literal["ready", "not_ready"]
    database: DependencyState
    migrations: Literal["head", "not_at_head", "unknown"]
    redis: DependencyState | None = Field(default=None, description="PING answered; only with OBANK_REDIS_URL")
    kafka: DependencyState | None = Field(
        default=None, description="a broker answered a metadata request; only with OBANK_KAFKA_BOOTSTRAP_SERVERS"
    )


async def check_database(
    engine: AsyncEngine, expected_heads: set[str], timeout_s: float = READINESS_TIMEOUT_S
) -> Readiness:
    """Ready when the database answers within the timeout and its applied revisions are the script heads."""
    try:
        async with asyncio.timeout(timeout_s), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            applied = await applied_revisions(connection)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        _log.warning("readiness_database_unavailable", exception=describe_error(exc))
        return Readiness(status="not_ready", database="unavailable", migrations="unknown")
    if applied != expected_heads:
        return Readiness(status="not_ready", database="ok", migrations="not_at_head")
    return Readiness(status="ready", database="ok", migrations="head")


async def check_redis(url: str, timeout_s: float) -> DependencyState:
    """PING on a connection of its own, so a probe never waits behind the rate limiter's or deny-list's traffic."""
    client = Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    try:
        async with asyncio.timeout(timeout_s):
            await client.ping()
        return "ok"
    except (RedisError, OSError, TimeoutError) as exc:
        _log.warning("readiness_redis_unavailable", exception=describe_error(exc))
        return "unavailable"
    finally:
        await client.aclose()


class KafkaProbe:
    """A metadata request to the brokers over one client kept between probes (started again after a failure)."""

    def __init__(self, bootstrap_servers: str, timeout_s: float) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.timeout_s = timeout_s
        self._client: AIOKafkaClient | None = None
        self._lock = asyncio.Lock()

    async def check(self) -> DependencyState:
        async with self._lock:
            try:
                async with asyncio.timeout(self.timeout_s):
                    if self._client is None:
                        client = AIOKafkaClient(
                            bootstrap_servers=self.bootstrap_servers,
                            client_id="obank-readiness",
                            request_timeout_ms=int(self.timeout_s * 1000),
                        )
                        self._client = client
                        await client.bootstrap()  # itself a metadata request
                    else:
                        await self._client.fetch_all_metadata()
                return "ok"
            except (KafkaError, OSError, TimeoutError) as exc:
                _log.warning("readiness_kafka_unavailable", exception=describe_error(exc))
                await self._close()
                return "unavailable"

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def close(self) -> None:
        async with self._lock:
            await self._close()


class ReadinessChecks:
    """Every dependency a process is configured with, checked at once; ready only when each answers."""

    def __init__(self, platform: Platform) -> None:
        settings: Settings = platform.settings
        self.engine = platform.engine
        self.timeout_s = settings.readiness_timeout_s
        self.expected_heads = head_revisions(platform.database_url)
        self.redis_url = settings.redis_url
        servers = settings.kafka_bootstrap_servers
        self.kafka = KafkaProbe(servers, self.timeout_s) if servers else None

    async def check(self) -> Readiness:
        async def no_check() -> None:
            return None

        database, redis, kafka = await asyncio.gather(
            check_database(self.engine, self.expected_heads, self.timeout_s),
            check_redis(self.redis_url, self.timeout_s) if self.redis_url else no_check(),
            self.kafka.check() if self.kafka else no_check(),
        )
        ready = database.status == "ready" and "unavailable" not in (redis, kafka)
        return database.model_copy(update={"status": "ready" if ready else "not_ready", "redis": redis, "kafka": kafka})

    async def close(self) -> None:
        if self.kafka is not None:
            await self.kafka.close()


@router.get("/healthz", summary="Liveness: the process is up")
async def liveness() -> Liveness:
    return Liveness()


@router.get(
    "/readyz",
    summary="Readiness: the database answers at the migration head, and Redis and Kafka answer when configured",
    response_model=Readiness,
    response_model_exclude_none=True,
    responses={503: {"model": Readiness, "description": "A dependency is not ready; the body says which"}},
)
async def readiness(request: Request) -> JSONResponse:
    checks: ReadinessChecks = request.app.state.readiness
    result = await checks.check()
    return JSONResponse(result.model_dump(exclude_none=True), status_code=200 if result.status == "ready" else 503)


BackgroundJob = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
Closer = Callable[[], Awaitable[None]]


def probes_app(
    title: str, platform: Platform, background: Sequence[BackgroundJob], closers: Sequence[Closer] = ()
) -> FastAPI:
    """An app serving the probes and the process's /metrics whose lifespan runs `background` jobs while it serves.

    On shutdown the jobs are asked to stop and awaited, then `closers` run, then the platform closes.
    `app.state.metrics` is what /metrics shows of the process (a gateway in front adds its own).
    """
    checks = ReadinessChecks(platform)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await platform.start()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(job(stop)) for job in background]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            for close in (*closers, checks.close):
                await close()
            await platform.close()

    # No FastAPI /docs (a CDN's Swagger UI) or /openapi.json here: the gateway serves the documents (bank.api_docs).
    app = FastAPI(title=title, lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    install_problem_handler(app)  # unknown paths and methods: problem details, as the first-party APIs answer
    app.state.platform = platform
    app.state.sessions = platform.sessions
    app.state.migration_heads = checks.expected_heads
    app.state.readiness = checks
    app.state.metrics = Scrape(PROCESS_REGISTRY, platform.metrics)
    app.include_router(router)
    metrics = MetricsEndpoint(app.state.metrics, platform.settings.metrics_allowed_networks)
    app.router.routes.append(Route(METRICS_PATH, metrics, methods=["GET", "HEAD"], include_in_schema=False))
    return app
