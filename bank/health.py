"""Liveness and readiness probes: is the process up, and can it serve (database answers, schema at head)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from obank.log import get_logger
from obank.migrate import applied_revisions, head_revisions
from obank.runtime import Platform

READINESS_TIMEOUT_S = 2.0
_log = get_logger("bank.health")

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    database: Literal["ok", "unavailable"]
    migrations: Literal["head", "not_at_head", "unknown"]


async def check_readiness(engine: AsyncEngine, expected_heads: set[str]) -> Readiness:
    """Ready when the database answers within the timeout and its applied revisions are the script heads."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_S), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            applied = await applied_revisions(connection)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        _log.warning("readiness_database_unavailable", exception=type(exc).__name__)
        return Readiness(status="not_ready", database="unavailable", migrations="unknown")
    if applied != expected_heads:
        return Readiness(status="not_ready", database="ok", migrations="not_at_head")
    return Readiness(status="ready", database="ok", migrations="head")


@router.get("/healthz", summary="Liveness: the process is up")
async def liveness() -> Liveness:
    return Liveness()


@router.get(
    "/readyz",
    summary="Readiness: the database answers and its schema is at the migration head",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency is not ready; the body says which"}},
)
async def readiness(request: Request) -> JSONResponse:
    engine: AsyncEngine = request.app.state.platform.engine
    heads: set[str] = request.app.state.migration_heads
    result = await check_readiness(engine, heads)
    return JSONResponse(result.model_dump(), status_code=200 if result.status == "ready" else 503)


BackgroundJob = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
Closer = Callable[[], Awaitable[None]]


def probes_app(
    title: str, platform: Platform, background: Sequence[BackgroundJob], closers: Sequence[Closer] = ()
) -> FastAPI:
    """An app serving the probes whose lifespan runs `background` jobs while it serves.

    On shutdown the jobs are asked to stop and awaited, then `closers` run, then the platform closes.
    """

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
            for close in closers:
                await close()
            await platform.close()

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.platform = platform
    app.state.sessions = platform.sessions
    app.state.migration_heads = head_revisions(platform.database_url)
    app.include_router(router)
    return app
