"""OpenTelemetry traces: off by default, exported over OTLP/HTTP when a collector is configured.

One trace follows a request from the gateway's ASGI app through the proxied upstream (aiohttp's client spans
carry `traceparent`) and its database statements to the outbox: each event keeps the W3C `traceparent` of the
transaction that recorded it, and each consumer applies it in a span that is a child of that context. When
tracing is off nothing is instrumented, so it costs nothing but a check at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import propagate, trace
from starlette.types import ASGIApp

from obank.log import REDACTED, configure_logging
from obank.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from sqlalchemy.ext.asyncio import AsyncEngine

    from obank.outbox.record import Event

OTLP_ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACEPARENT = "traceparent"
TRACER_NAME = "obank"
# Span attributes that may carry a request's values (a query string's codes) or a caller's address: their
# URLs lose the query string, addresses are redacted, as in the logs.
_URL_ATTRIBUTES = frozenset({"http.url", "url.full", "http.target", "url.query"})
_CLIENT_ADDRESS_ATTRIBUTES = frozenset({"client.address", "http.client_ip", "net.peer.ip", "net.sock.peer.addr"})


@dataclass
class _Tracing:
    """The installed provider and what was instrumented with it, to undo in `uninstall`."""

    provider: TracerProvider
    tracer: trace.Tracer
    aiohttp: Any


_installed: _Tracing | None = None


def otlp_endpoint(settings: Settings) -> str | None:
    """The collector spans go to: `OBANK_OTLP_ENDPOINT`, else the standard variable; None means tracing is off."""
    return settings.otlp_endpoint or os.environ.get(OTLP_ENDPOINT_VARIABLE) or None


def service_name(role: str) -> str:
    return f"obank-{role}"


def enabled() -> bool:
    return _installed is not None


def _scrub_url(value: str) -> str:
    if value.startswith("/"):  # a bare target: path and query
        return value.split("?", 1)[0]
    parts = urlsplit(value)
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))


def scrub_request_attributes(span: trace.Span, _scope: object = None) -> None:
    """Drop the query string from a server span's URL attributes and redact the caller's address, as the logs do
    (the ASGI instrumentation's request hook: it runs after the instrumentation set them)."""
    for name, value in list((getattr(span, "attributes", None) or {}).items()):
        if name == "url.query" or name in _CLIENT_ADDRESS_ATTRIBUTES:
            span.set_attribute(name, REDACTED)
        elif name in _URL_ATTRIBUTES and isinstance(value, str):
            span.set_attribute(name, _scrub_url(value))


def _url_without_query(url: Any) -> str:
    """aiohttp's URL filter: an upstream request's URL as spans record it, without its query string."""
    return _scrub_url(str(url))


def install(provider: TracerProvider) -> None:
    """Trace with `provider` from now on: aiohttp client sessions created later, engines and ASGI apps
    instrumented later (`instrument_engine`, `instrument_asgi`), outbox events recorded and consumed later."""
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

    global _installed
    uninstall()
    aiohttp = AioHttpClientInstrumentor()
    aiohttp.instrument(tracer_provider=provider, url_filter=_url_without_query)
    _installed = _Tracing(provider, provider.get_tracer(TRACER_NAME), aiohttp)


def uninstall() -> None:
    """Stop tracing: what `install` instrumented is undone (apps and engines built meanwhile keep their spans)."""
    global _installed
    if _installed is not None:
        _installed.aiohttp.uninstrument()
        _installed = None


def exporting_provider(settings: Settings, role: str) -> TracerProvider | None:
    """A provider exporting spans of service `obank-<role>` over OTLP/HTTP, or None when no collector is set."""
    endpoint = otlp_endpoint(settings)
    if endpoint is None:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name(role)}))
    # OBANK_OTLP_ENDPOINT names the collector as OTEL_EXPORTER_OTLP_ENDPOINT does: the signal's path is added.
    traces = f"{settings.otlp_endpoint.rstrip('/')}/v1/traces" if settings.otlp_endpoint else None
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces)))
    return provider


def configure_tracing(settings: Settings, role: str) -> bool:
    """Trace this process when a collector is configured; True when on.

    The provider stays ours, not OpenTelemetry's global one: FastAPI traces every app on its own once a global
    provider is set, recording exceptions' messages, which may quote a request's values.
    """
    provider = exporting_provider(settings, role)
    if provider is None:
        return False
    install(provider)
    return True


def configure_observability(settings: Settings, role: str) -> None:
    """What every `obank` process does first: its logging as `role`, then its tracing if configured."""
    configure_logging(settings.log_level, role=role, log_format=settings.log_format)
    configure_tracing(settings, role)


def instrument_engine(engine: AsyncEngine) -> AsyncEngine:
    """A span per statement on `engine` when tracing is on (statements only: values stay bound, never shown)."""
    if _installed is None:
        return engine
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeterProvider

    # Pool use is a Prometheus gauge of ours (obank.metrics); the tracer's own counter goes nowhere.
    usage = NoOpMeterProvider().get_meter(TRACER_NAME).create_up_down_counter("db.client.connections.usage")
    EngineTracer(  # type: ignore[no-untyped-call]
        _installed.provider.get_tracer("opentelemetry.instrumentation.sqlalchemy"), engine.sync_engine, usage
    )
    return engine


def instrument_asgi(app: ASGIApp) -> ASGIApp:
    """`app` in a server span per request, continuing the caller's `traceparent`, when tracing is on."""
    if _installed is None:
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    # No spans for each body chunk received or sent: one per request is what a trace needs.
    provider = _installed.provider
    traced: ASGIApp = OpenTelemetryMiddleware(
        app, tracer_provider=provider, exclude_spans=["receive", "send"], server_request_hook=scrub_request_attributes
    )
    return traced


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the active span, to store with an outbox event; None outside any trace."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT)


@contextmanager
def _consumer_span(consumer: str, event: Event) -> Iterator[None]:
    assert _installed is not None
    parent = propagate.extract({TRACEPARENT: event.traceparent}) if event.traceparent else None
    attributes = {
        "messaging.system": "obank.outbox",
        "messaging.destination.name": event.topic,
        "messaging.consumer.group.name": consumer,
        "messaging.message.id": str(event.event_id),
        "obank.event_type": event.event_type,
    }
    with _installed.tracer.start_as_current_span(
        f"process {event.topic}", context=parent, kind=trace.SpanKind.CONSUMER, attributes=attributes
    ):
        yield


def consuming(consumer: str, event: Event) -> Any:
    """A context in which `consumer` applies `event`: a span child of the recording transaction's, if traced."""
    if _installed is None:
        return nullcontext()
    return _consumer_span(consumer, event)
