"""Traces: off by default and free; when on, gateway → upstream → database → outbox → consumer is one trace."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import httpx
import pytest
import uvicorn
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Receive, Scope, Send

from bank.upstreams import core_banking_service_app
from fraud.features.consumers import features_consumer
from obank import telemetry
from obank.database import create_engine
from obank.log import REDACTED
from obank.outbox.consumers import ConsumerRegistry
from obank.outbox.kafka import HEADER_TRACEPARENT, decode_event, encode_event
from obank.outbox.record import Event
from obank.outbox.relay import InProcessPublisher, OutboxRelay
from obank.runtime import build_platform
from obank.server import bind_socket
from obank.settings import Settings
from tests.auth_server.oauth.conftest import Pki, pki
from tests.conftest import TEST_KEYS
from tests.core_banking.helpers import new_account, new_customer
from tests.gateway.harness import serving_gateway

__all__ = ["pki"]

SQLALCHEMY_SCOPE = "opentelemetry.instrumentation.sqlalchemy"
AIOHTTP_SCOPE = "opentelemetry.instrumentation.aiohttp_client"
CLIENT_ADDRESS_ATTRIBUTES = ("client.address", "http.client_ip", "net.peer.ip", "net.sock.peer.addr")
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing installed with an in-memory exporter for one test, uninstalled after."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.install(provider)
    try:
        yield exporter
    finally:
        telemetry.uninstall()
        provider.shutdown()


async def _nothing(scope: Scope, receive: Receive, send: Send) -> None:
    return None


async def test_tracing_is_off_and_nothing_is_instrumented_without_a_collector(
    settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(telemetry.OTLP_ENDPOINT_VARIABLE, raising=False)
    assert settings.otlp_endpoint is None

    assert telemetry.configure_tracing(settings, "all") is False
    assert not telemetry.enabled()
    app: ASGIApp = _nothing
    assert telemetry.instrument_asgi(app) is app
    engine = create_engine(database_url)
    async with aiohttp.ClientSession() as session:
        trace_configs = list(session.trace_configs)
    try:
        assert len(engine.sync_engine.dispatch.before_cursor_execute) == 0
    finally:
        await engine.dispose()
    assert trace_configs == []
    assert telemetry.current_traceparent() is None


@asynccontextmanager
async def _collector() -> AsyncIterator[tuple[str, list[tuple[str, bytes]]]]:
    """An OTLP/HTTP collector on a free port: the URL and what it received (path, protobuf body)."""
    received: list[tuple[str, bytes]] = []

    async def accept(request: web.Request) -> web.Response:
        received.append((request.path, await request.read()))
        return web.Response(body=ExportTraceServiceRequest().SerializeToString(), content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/{path:.*}", accept)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", received
    finally:
        await runner.cleanup()


def _service_names(body: bytes) -> set[str]:
    request = ExportTraceServiceRequest.FromString(body)
    return {
        attribute.value.string_value
        for resource_spans in request.resource_spans
        for attribute in resource_spans.resource.attributes
        if attribute.key == "service.name"
    }


@pytest.mark.parametrize("variable", ["OBANK_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"])
async def test_spans_are_exported_over_otlp_http_as_the_processes_service(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.delenv(telemetry.OTLP_ENDPOINT_VARIABLE, raising=False)
    async with _collector() as (url, received):
        if variable == "OBANK_OTLP_ENDPOINT":
            configured = settings.model_copy(update={"otlp_endpoint": url})
        else:
            monkeypatch.setenv(variable, url)
            configured = settings
        provider = telemetry.exporting_provider(configured, "worker")
        assert provider is not None
        with provider.get_tracer("test").start_as_current_span("work"):
            pass
        await asyncio.to_thread(provider.force_flush)
        await asyncio.to_thread(provider.shutdown)

    ((path, body),) = received
    assert path == "/v1/traces"
    assert _service_names(body) == {"obank-worker"}


def test_kafka_records_carry_the_events_trace_context() -> None:
    event = Event(uuid.uuid4(), "t", "e", "k", {}, "corr", datetime.now(UTC), traceparent=TRACEPARENT)

    _key, value, headers = encode_event(event)

    assert (HEADER_TRACEPARENT, TRACEPARENT.encode()) in headers
    assert decode_event(value).traceparent == TRACEPARENT
    untraced = Event(uuid.uuid4(), "t", "e", "k", {}, "corr", datetime.now(UTC))
    assert all(name != HEADER_TRACEPARENT for name, _ in encode_event(untraced)[2])
    assert decode_event(encode_event(untraced)[1]).traceparent is None


@asynccontextmanager
async def _core_banking_service(directory: Path, database_url: str) -> AsyncIterator[str]:
    """`obank serve --role core_banking` in this process over plain HTTP; its base URL."""
    settings = Settings(
        env="test",
        data_dir=directory / "var",
        certs_dir=directory / "certs",
        database_url=database_url,
        encryption_keys=json.dumps(TEST_KEYS),
        active_encryption_key_id="test-1",
    )
    platform = build_platform(settings, database_url)
    sock = bind_socket("127.0.0.1", 0)
    config = uvicorn.Config(core_banking_service_app(platform), lifespan="on", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(15):
            while not server.started:
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def _path(span: ReadableSpan) -> object:
    attributes = span.attributes or {}
    return attributes.get("url.path", attributes.get("http.target"))


def _scope(span: ReadableSpan) -> str:
    return span.instrumentation_scope.name if span.instrumentation_scope else ""


def _parent_id(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id


async def test_a_transfer_through_the_gateway_is_one_trace_down_to_its_consumers(
    spans: InMemorySpanExporter, tmp_path: Path, database_url: str, pki: Pki
) -> None:
    async with (
        _core_banking_service(tmp_path, database_url) as upstream,
        serving_gateway(tmp_path, database_url, pki, upstream_core_banking_url=upstream) as gateway,
    ):
        platform = gateway.platform
        alice = await new_customer(platform.sessions, platform.keyring)
        bob = await new_customer(platform.sessions, platform.keyring, full_name="Bob Payee")
        source = await new_account(platform.sessions, platform.keyring, alice.id, funded_minor=5_000)
        destination = await new_account(platform.sessions, platform.keyring, bob.id)
        token = await gateway.token(await gateway.client_id(first_party=True), subject=str(alice.id))
        spans.clear()
        marker = f"marker{uuid.uuid4().hex}"
        response = await gateway.http().post(
            f"/api/v1/transfers?note={marker}",
            headers={"authorization": f"Bearer {token}", "idempotency-key": str(uuid.uuid4())},
            json={
                "source_account_id": str(source.id),
                "destination_account_id": str(destination.id),
                "amount_minor": 1_250,
                "currency": "GBP",
                "description": "Rent",
            },
        )
        assert response.status_code == 201, response.text
        registry = ConsumerRegistry()
        registry.register(features_consumer())
        relay = OutboxRelay(platform.sessions, InProcessPublisher(registry, platform.sessions))
        while await relay.run_once():
            pass

    finished = spans.get_finished_spans()
    (root,) = [
        s for s in finished if s.kind is SpanKind.SERVER and s.parent is None and _path(s) == "/api/v1/transfers"
    ]
    assert root.context is not None
    trace = [s for s in finished if s.context is not None and s.context.trace_id == root.context.trace_id]
    ids = {s.context.span_id for s in trace if s.context is not None}
    assert all(_parent_id(s) in ids for s in trace if s is not root)  # one tree under the gateway's span

    (client,) = [s for s in trace if s.kind is SpanKind.CLIENT and _scope(s) == AIOHTTP_SCOPE]
    (upstream_server,) = [s for s in trace if s.kind is SpanKind.SERVER and s is not root]
    assert _parent_id(upstream_server) == client.context.span_id  # traceparent crossed the HTTP hop
    statements = [str((s.attributes or {}).get("db.statement", "")) for s in trace if _scope(s) == SQLALCHEMY_SCOPE]
    assert any("outbox_events" in statement for statement in statements)
    consumed = [
        s
        for s in trace
        if s.kind is SpanKind.CONSUMER
        and (s.attributes or {}).get("messaging.destination.name") == "core_banking.transfers"
    ]
    assert consumed and all((s.attributes or {})["messaging.consumer.group.name"] == "fraud.features" for s in consumed)
    assert any(_scope(s) == SQLALCHEMY_SCOPE and _parent_id(s) == consumed[0].context.span_id for s in trace)

    # Query strings (which may carry codes) and callers' addresses stay out of every span.
    assert marker not in json.dumps([dict(s.attributes or {}) for s in finished])
    callers = {name: value for name, value in (root.attributes or {}).items() if name in CLIENT_ADDRESS_ATTRIBUTES}
    assert callers and set(callers.values()) == {REDACTED}


async def test_the_upstream_continues_a_callers_trace(
    spans: InMemorySpanExporter, tmp_path: Path, database_url: str
) -> None:
    # httpx is not instrumented: the header is exactly the caller's.
    async with _core_banking_service(tmp_path, database_url) as upstream, httpx.AsyncClient() as http:
        response = await http.get(f"{upstream}/readyz", headers={"traceparent": TRACEPARENT})
        assert response.status_code == 200

    (server,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert server.context is not None and server.parent is not None
    assert format(server.context.trace_id, "032x") == TRACEPARENT.split("-")[1]
    assert format(server.parent.span_id, "016x") == TRACEPARENT.split("-")[2]
