"""The gateway's Prometheus metrics: requests by route and status, latency, token rejections, rate-limit hits."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp

from obank.metrics import METRICS_PATH, PROCESS_REGISTRY, Collector, MetricsEndpoint, Scrape

__all__ = ["METRICS_PATH", "GatewayMetrics"]
# From 1 ms (a cached token check) to 10 s (the upstream timeout), roughly 2.5x apart.
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Clients choose the method string; anything else is counted as "other" to keep label values bounded.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class GatewayMetrics:
    """The gateway's collectors in a registry of their own, so each app (and each test) counts alone; its
    scrapes show the process's (`obank.metrics.PROCESS_REGISTRY`) beside them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "obank_gateway_requests",
            "Requests answered by the gateway, by route, method and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self._duration = Histogram(
            "obank_gateway_request_duration_seconds",
            "Time from the request reaching the gateway to the end of its response.",
            ("route", "method"),
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self._token_rejections = Counter(
            "obank_gateway_token_rejections",
            "Requests refused for their access token, by reason.",
            ("reason",),
            registry=self.registry,
        )
        self._rate_limit_hits = Counter(
            "obank_gateway_rate_limit_hits",
            "Requests refused with 429, by rate class.",
            ("class",),
            registry=self.registry,
        )

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency under its route name."""
        method = method.upper()
        method = method if method in KNOWN_METHODS else "other"
        self._requests.labels(route, method, str(status)).inc()
        self._duration.labels(route, method).observe(seconds)

    def token_rejected(self, reason: str) -> None:
        self._token_rejections.labels(reason).inc()

    def rate_limited(self, rate_class: str) -> None:
        self._rate_limit_hits.labels(rate_class).inc()

    def scrape(self, *also: Collector) -> Scrape:
        """This gateway's metrics, the process's, and `also` (the platform's database gauges)."""
        return Scrape(self.registry, PROCESS_REGISTRY, *also)

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The registry in the format `accept` asks for (OpenMetrics or Prometheus text) and its content type."""
        return self.scrape().render_now(accept)

    def asgi_app(self, *also: Collector, allowed: Sequence[str] | None = None) -> ASGIApp:
        """`GET /metrics` for scrapers on the networks in `allowed` (None: the caller decides who reaches it)."""
        return MetricsEndpoint(self.scrape(*also), allowed)
