"""/metrics on every process role, as a Prometheus scraper reads it: the process's counters, the database gauges."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from starlette.types import ASGIApp

from audit.trail import platform_units
from auth_server.identities.schemas import IdentityKind
from auth_server.login import service as login
from bank.app import create_app
from bank.upstreams import core_banking_service_app, open_banking_service_app
from obank.database import POOL_SIZE, unit_of_work
from obank.metrics import PROCESS_REGISTRY, Scrape, metrics_listener, metrics_listeners, payment_status_changed
from obank.outbox.consumers import Consumer
from obank.outbox.record import record_event
from obank.runtime import Platform, build_platform
from obank.settings import Settings
from tests.auth_server.helpers import TEST_ACTOR

MONITORING = ("127.0.0.1", 40_000)
OUTSIDER = ("10.9.8.7", 40_000)


def value(exposition: str, name: str, **labels: str) -> float | None:
    """One sample's value as Prometheus parses the text format; None when the series is absent."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


async def scrape(app: ASGIApp, client: tuple[str, int] = MONITORING, path: str = "/metrics") -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url="https://obank.test") as http:
        return await http.get(path)


@pytest.fixture
async def fresh(settings: Settings) -> AsyncIterator[Platform]:
    """A platform whose database gauges are read again at every scrape."""
    platform = build_platform(settings.model_copy(update={"metrics_cache_s": 0.0}))
    try:
        yield platform
    finally:
        await platform.close()


async def _record_unpublished(platform: Platform, topic: str = "tests.metrics") -> uuid.UUID:
    async with unit_of_work(platform.sessions) as session:
        event = await record_event(session, topic=topic, event_type="tested", key="k", payload={})
    return event.event_id


def _process_and_database_series(body: str) -> None:
    assert value(body, "process_resident_memory_bytes") is not None
    assert value(body, "obank_metrics_database_up") == 1
    assert value(body, "obank_outbox_unpublished_events") == 1
    age = value(body, "obank_outbox_oldest_unpublished_age_seconds")
    assert age is not None and 0 <= age < 60
    assert value(body, "obank_db_pool_size_connections", pool="main") == POOL_SIZE
    assert value(body, "obank_db_pool_checked_out_connections", pool="side") == 0


async def test_the_all_in_one_gateway_shows_its_own_metrics_the_process_and_the_database(fresh: Platform) -> None:
    await _record_unpublished(fresh)
    app = create_app(fresh)
    await scrape(app, path="/healthz")

    response = await scrape(app)

    assert response.status_code == 200
    _process_and_database_series(response.text)
    requests = [line for line in response.text.splitlines() if line.startswith("obank_gateway_requests_total{")]
    assert requests and all('method="GET"' in line for line in requests)  # the probe counted by the gateway
    assert response.text.count("# TYPE process_resident_memory_bytes") == 1  # the process registry shown once
    assert (await scrape(app, OUTSIDER)).status_code == 404


@pytest.mark.parametrize("service_app", [core_banking_service_app, open_banking_service_app])
async def test_each_service_role_serves_metrics_to_monitoring_networks_only(
    fresh: Platform, service_app: Callable[[Platform], ASGIApp]
) -> None:
    await _record_unpublished(fresh)
    app = service_app(fresh)

    response = await scrape(app)
    refused = await scrape(app, OUTSIDER)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    _process_and_database_series(response.text)
    assert refused.status_code == 404 and "obank_" not in refused.text


async def test_the_worker_listener_serves_the_process_on_its_own_port(settings: Settings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    platform = build_platform(settings.model_copy(update={"metrics_port": port, "metrics_cache_s": 0.0}))
    stop = asyncio.Event()
    try:
        await _record_unpublished(platform)
        (listener,) = metrics_listeners(platform)
        serving = asyncio.create_task(listener(stop))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(100):
                try:
                    response = await http.get("/metrics")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.02)
            openmetrics = await http.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})
            elsewhere = await http.get("/other")
        stop.set()
        await serving
    finally:
        await platform.close()

    assert response.status_code == 200
    _process_and_database_series(response.text)
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert elsewhere.status_code == 404


def test_without_a_port_the_worker_serves_no_metrics(platform: Platform) -> None:
    assert platform.settings.metrics_port is None
    assert metrics_listeners(platform) == []


async def test_the_listener_refuses_scrapers_outside_the_monitoring_networks() -> None:
    scrape = Scrape(PROCESS_REGISTRY)
    async with metrics_listener(scrape, "127.0.0.1", 0, ["10.0.0.0/8"]) as port, httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 404


async def test_consumer_lag_counts_the_events_a_consumer_has_not_applied(fresh: Platform) -> None:
    async def ignore(_session: object, _event: object) -> None:
        return None

    watched = Consumer("tests.lagging", ("tests.lag",), ignore)
    fresh.metrics.watch_consumers([watched])
    applied = await _record_unpublished(fresh, "tests.lag")
    await _record_unpublished(fresh, "tests.lag")
    await _record_unpublished(fresh, "tests.other")
    async with unit_of_work(fresh.sessions) as session:
        await session.execute(
            text("INSERT INTO platform.consumed_events (consumer, event_id) VALUES ('tests.lagging', :id)"),
            {"id": applied},
        )

    body = (await scrape(core_banking_service_app(fresh))).text

    assert value(body, "obank_consumer_lag_events", consumer="tests.lagging") == 1
    assert value(body, "obank_outbox_unpublished_events") == 3


async def test_database_gauges_are_read_at_most_once_per_cache_period(settings: Settings) -> None:
    platform = build_platform(settings.model_copy(update={"metrics_cache_s": 300.0}))
    try:
        app = core_banking_service_app(platform)
        first = (await scrape(app)).text
        await _record_unpublished(platform)
        second = (await scrape(app)).text
    finally:
        await platform.close()
    assert value(first, "obank_outbox_unpublished_events") == value(second, "obank_outbox_unpublished_events") == 0


async def test_an_unreachable_database_is_reported_not_raised(settings: Settings, tmp_path_factory) -> None:
    nowhere = tmp_path_factory.mktemp("no-server")
    platform = build_platform(settings, f"postgresql://postgres@/obank?host={nowhere}")
    try:
        response = await scrape(core_banking_service_app(platform))
    finally:
        await platform.close()
    assert response.status_code == 200
    assert value(response.text, "obank_metrics_database_up") == 0
    assert value(response.text, "obank_outbox_unpublished_events") is None


def _counted(name: str, **labels: str) -> float:
    return value(Scrape(PROCESS_REGISTRY).render_now()[0].decode(), name, **labels) or 0.0


async def test_payment_transitions_count_only_when_their_transaction_commits(platform: Platform) -> None:
    before = _counted("obank_payment_status_transitions_total", status="REJECTED")
    async with unit_of_work(platform.sessions) as session:
        payment_status_changed(session, "REJECTED")

    async def rolled_back() -> None:
        async with unit_of_work(platform.sessions) as session:
            payment_status_changed(session, "REJECTED")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await rolled_back()
    assert _counted("obank_payment_status_transitions_total", status="REJECTED") == before + 1


async def test_a_refused_sign_in_is_counted_by_reason_never_by_login(platform: Platform) -> None:
    before = _counted("obank_login_failures_total", reason="unknown_user")
    username = f"nobody-{uuid.uuid4().hex}@example.test"
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        outcome = await login.sign_in_with_password(
            uow,
            kind=IdentityKind.CUSTOMER,
            username=username,
            password="not the password",
            require_sca=False,
            return_to=None,
            previous_session=None,
            ip_address=None,
        )
    assert outcome.issued is None
    exposition = Scrape(PROCESS_REGISTRY).render_now()[0].decode()
    assert value(exposition, "obank_login_failures_total", reason="unknown_user") == before + 1
    assert username not in exposition
