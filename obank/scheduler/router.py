"""The staff API of the scheduler: the jobs, their runs, and a run now; an app mounts it under its admin prefix.

The app keeps the deployment's jobs as `app.state.job_registry` and says who may read and who may run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from obank.actor import Actor
from obank.database import SessionDep
from obank.inputs import BoundedDateTime
from obank.principal import PrincipalDep
from obank.problems import problem_responses
from obank.scheduler import service
from obank.scheduler.registry import JobRegistry
from obank.scheduler.schemas import JobRead, JobRunRead
from obank.unit_of_work import UnitOfWork, request_unit_of_work

AccessCheck = Callable[..., Awaitable[object]]

PROBLEMS = problem_responses(
    (
        (401, "No valid principal assertion"),
        (403, "The principal may not do this"),
        (404, "No job has this name"),
        (422, "Invalid request"),
    )
)


async def _registry(request: Request) -> JobRegistry:
    registry: JobRegistry = request.app.state.job_registry
    return registry


async def _caller(principal: PrincipalDep) -> Actor:
    return Actor.from_principal(principal)


RegistryDep = Annotated[JobRegistry, Depends(_registry)]
UnitOfWorkDep = Annotated[UnitOfWork, Depends(request_unit_of_work(_caller), scope="function")]
Limit = Annotated[int, Query(ge=1, le=service.HISTORY_MAX, description="How many runs, newest first")]
Before = Annotated[BoundedDateTime | None, Query(description="Only runs due before this instant (the next page)")]


def jobs_router(*, read_access: AccessCheck, run_access: AccessCheck) -> APIRouter:
    """`/jobs` routes: reading needs `read_access` to pass, asking for a run needs `run_access`."""
    router = APIRouter(prefix="/jobs", tags=["admin: jobs"], responses=PROBLEMS)

    @router.get("", dependencies=[Depends(read_access)])
    async def list_jobs(registry: RegistryDep, session: SessionDep) -> list[JobRead]:
        """Every job: its schedule, its next due time and its latest run."""
        overviews = await service.job_overviews(session, registry, datetime.now(UTC))
        return [JobRead.from_overview(overview) for overview in overviews]

    @router.get("/{name}/runs", dependencies=[Depends(read_access)])
    async def list_runs(
        name: str,
        registry: RegistryDep,
        session: SessionDep,
        limit: Limit = service.HISTORY_LIMIT,
        before: Before = None,
    ) -> list[JobRunRead]:
        """A job's runs, newest due time first; page back with `before` = the last one's `due_at`."""
        runs = await service.run_history(session, registry, name, limit=limit, before=before)
        return [JobRunRead.from_record(run) for run in runs]

    @router.post("/{name}/runs", status_code=202, dependencies=[Depends(run_access)])
    async def request_run(name: str, registry: RegistryDep, uow: UnitOfWorkDep) -> JobRunRead:
        """Queue a run of the job due now; the first scheduler to look runs it (audited)."""
        record = await service.request_run(uow, registry, name, datetime.now(UTC))
        return JobRunRead.from_record(record)

    return router
