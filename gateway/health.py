"""Liveness and readiness probes: is the process up, and can it serve (database answers, schema at head)."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from obank.log import get_logger
from obank.migrate import applied_revisions

READINESS_TIMEOUT_S = 2.0
_log = get_logger("gateway.health")

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
