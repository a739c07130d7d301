"""The staff API of the scheduled jobs: any staff role reads them, only admins ask for a run, and each ask is
audited."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from bank.jobs import job_registry
from core_banking.app import create_app
from core_banking.ledger.periods import BANK_TIMEZONE
from gateway.policy import ADMIN, ANY_STAFF, policy_for
from obank.database import unit_of_work
from obank.principal import PRINCIPAL_HEADER, Principal, PrincipalKind
from obank.runtime import Platform
from obank.scheduler.scheduler import Scheduler
from obank.scheduler.schemas import RunKey

HeadersFor = Callable[..., dict[str, str]]


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return create_app(platform, jobs=job_registry(platform.settings))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://core-banking") as http:
        yield http


@pytest.fixture
def headers_for(app: FastAPI) -> HeadersFor:
    def make(*roles: str, kind: PrincipalKind = "staff") -> dict[str, str]:
        principal = Principal(
            subject="staff-7", kind=kind, interaction_id="00000000-0000-4000-8000-000000000007", roles=frozenset(roles)
        )
        return {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "core_banking")}

    return make


async def test_any_staff_role_lists_the_jobs_with_their_next_due_time(
    client: httpx.AsyncClient, headers_for: HeadersFor, platform: Platform
) -> None:
    response = await client.get("/admin/v1/jobs", headers=headers_for("auditor"))

    assert response.status_code == 200
    listed = {job["name"]: job for job in response.json()}
    assert list(listed) == job_registry(platform.settings).names
    reconcile = listed["reconcile"]
    assert reconcile["schedule"] == "0 2 * * * (Europe/London)" and reconcile["last_run"] is None
    next_due = datetime.fromisoformat(reconcile["next_due_at"]).astimezone(BANK_TIMEZONE)
    assert (next_due.hour, next_due.minute) == (2, 0)


async def test_an_admin_asks_for_a_run_which_is_queued_audited_and_then_shown(
    client: httpx.AsyncClient, headers_for: HeadersFor, platform: Platform
) -> None:
    response = await client.post("/admin/v1/jobs/reconcile/runs", headers=headers_for("admin"))

    assert response.status_code == 202
    queued = response.json()
    assert (queued["job"], queued["trigger"], queued["status"], queued["attempts"]) == (
        "reconcile",
        "manual",
        "PENDING",
        0,
    )
    async with unit_of_work(platform.sessions) as session:
        audited = (
            await session.execute(
                text(
                    "SELECT actor_kind, actor_id, entity_id FROM audit.audit_records WHERE action = 'job.run_requested'"
                )
            )
        ).all()
    due_at = datetime.fromisoformat(queued["due_at"])
    assert [tuple(row) for row in audited] == [("staff", "staff-7", f"reconcile@{due_at.isoformat()}")]

    await Scheduler(platform, job_registry(platform.settings)).run_requested(RunKey("reconcile", due_at))
    history = await client.get("/admin/v1/jobs/reconcile/runs", params={"limit": 5}, headers=headers_for("support"))
    assert history.status_code == 200
    (ran,) = history.json()
    assert (ran["trigger"], ran["status"], ran["attempts"], ran["error"]) == ("manual", "SUCCEEDED", 1, None)
    assert ran["result"] == {"accounts": 0, "discrepancies": 0} and ran["claimed_by"]
    listed = await client.get("/admin/v1/jobs", headers=headers_for("support"))
    (reconcile,) = [job for job in listed.json() if job["name"] == "reconcile"]
    assert reconcile["last_run"]["status"] == "SUCCEEDED"


async def test_history_pages_back_with_before(client: httpx.AsyncClient, headers_for: HeadersFor) -> None:
    for _ in range(3):
        assert (
            await client.post("/admin/v1/jobs/purge-job-runs/runs", headers=headers_for("admin"))
        ).status_code == 202
    first = (await client.get("/admin/v1/jobs/purge-job-runs/runs?limit=2", headers=headers_for("support"))).json()
    rest = (
        await client.get(
            "/admin/v1/jobs/purge-job-runs/runs",
            params={"limit": 2, "before": first[-1]["due_at"]},
            headers=headers_for("support"),
        )
    ).json()

    assert len(first) == 2 and len(rest) == 1
    assert first[0]["due_at"] > first[1]["due_at"] > rest[0]["due_at"]


async def test_only_admins_ask_for_runs(client: httpx.AsyncClient, headers_for: HeadersFor) -> None:
    for roles in (("support",), ("fraud_analyst", "auditor")):
        refused = await client.post("/admin/v1/jobs/reconcile/runs", headers=headers_for(*roles))
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "insufficient_role"
    customer = await client.get("/admin/v1/jobs", headers=headers_for(kind="customer"))
    assert customer.status_code == 403
    assert (await client.get("/admin/v1/jobs")).status_code == 401
    assert (await client.get("/admin/v1/jobs/reconcile/runs", headers=headers_for("support"))).json() == []


async def test_an_unknown_job_is_a_problem_404(client: httpx.AsyncClient, headers_for: HeadersFor) -> None:
    for method, path in (("POST", "/admin/v1/jobs/nonesuch/runs"), ("GET", "/admin/v1/jobs/nonesuch/runs")):
        response = await client.request(method, path, headers=headers_for("admin"))
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "unknown_job"


async def test_bad_paging_is_refused(client: httpx.AsyncClient, headers_for: HeadersFor) -> None:
    for params in (
        {"limit": 0},
        {"limit": 201},
        {"before": "2026-12-05T10:00:00"},
        {"before": "0001-01-01T00:00:00+14:00"},
    ):  # naive; off the calendar
        response = await client.get("/admin/v1/jobs/reconcile/runs", params=params, headers=headers_for("support"))
        assert response.status_code == 422


def test_the_gateway_admits_any_staff_to_read_and_only_admins_to_run() -> None:
    assert policy_for("GET", "/admin/v1/jobs").roles == ANY_STAFF
    assert policy_for("GET", "/admin/v1/jobs/reconcile/runs").roles == ANY_STAFF
    run = policy_for("POST", "/admin/v1/jobs/reconcile/runs")
    assert (run.name, run.roles) == ("admin.jobs.run", ADMIN)
