"""Gateway metrics as a Prometheus scraper reads them: parsed from the exposition `GET /metrics` serves."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from gateway.metrics import LATENCY_BUCKETS_S, GatewayMetrics


def samples(metrics: GatewayMetrics, name: str) -> list[Sample]:
    body, _ = metrics.exposition()
    return [
        sample
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == name
    ]


def value(metrics: GatewayMetrics, name: str, **labels: str) -> float | None:
    return next((sample.value for sample in samples(metrics, name) if sample.labels == labels), None)


async def scrape(
    metrics: GatewayMetrics, method: str = "GET", path: str = "/metrics", **headers: str
) -> httpx.Response:
    transport = httpx.ASGITransport(app=metrics.asgi_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return await client.request(method, path, headers=headers)


def test_requests_are_counted_by_route_method_and_status() -> None:
    metrics = GatewayMetrics()

    metrics.observe_request("balances.get", "GET", 200, 0.004)
    metrics.observe_request("balances.get", "get", 200, 0.006)
    metrics.observe_request("balances.get", "GET", 401, 0.0005)
    metrics.observe_request("transfers.create", "POST", 201, 0.03)
    metrics.observe_request("public.other", "BREW", 404, 0.0002)

    total = "obank_gateway_requests_total"
    assert value(metrics, total, route="balances.get", method="GET", status="200") == 2
    assert value(metrics, total, route="balances.get", method="GET", status="401") == 1
    assert value(metrics, total, route="transfers.create", method="POST", status="201") == 1
    assert value(metrics, total, route="public.other", method="other", status="404") == 1
    assert len(samples(metrics, total)) == 4


def test_latency_lands_in_buckets_from_a_millisecond_to_ten_seconds() -> None:
    metrics = GatewayMetrics()
    for seconds in (0.0004, 0.004, 0.2, 12.0):
        metrics.observe_request("accounts.list", "GET", 200, seconds)

    buckets = {
        float(sample.labels["le"]): sample.value
        for sample in samples(metrics, "obank_gateway_request_duration_seconds_bucket")
        if sample.labels["route"] == "accounts.list"
    }
    histogram = "obank_gateway_request_duration_seconds"

    assert sorted(buckets) == [*LATENCY_BUCKETS_S, float("inf")]
    assert (buckets[0.001], buckets[0.005], buckets[0.25], buckets[10.0], buckets[float("inf")]) == (1, 2, 3, 3, 4)
    assert value(metrics, histogram + "_count", route="accounts.list", method="GET") == 4
    assert value(metrics, histogram + "_sum", route="accounts.list", method="GET") == pytest.approx(12.2044)


def test_token_rejections_and_rate_limit_hits_are_counted_by_reason_and_class() -> None:
    metrics = GatewayMetrics()

    metrics.token_rejected("expired")
    metrics.token_rejected("expired")
    metrics.token_rejected("certificate_mismatch")
    metrics.rate_limited("payments")

    assert value(metrics, "obank_gateway_token_rejections_total", reason="expired") == 2
    assert value(metrics, "obank_gateway_token_rejections_total", reason="certificate_mismatch") == 1
    assert value(metrics, "obank_gateway_rate_limit_hits_total", **{"class": "payments"}) == 1
    assert value(metrics, "obank_gateway_rate_limit_hits_total", **{"class": "reads"}) is None


def test_each_instance_counts_alone() -> None:
    first, second = GatewayMetrics(), GatewayMetrics()

    first.rate_limited("login")

    assert value(first, "obank_gateway_rate_limit_hits_total", **{"class": "login"}) == 1
    assert samples(second, "obank_gateway_rate_limit_hits_total") == []


async def test_get_metrics_serves_the_prometheus_text_format() -> None:
    metrics = GatewayMetrics()
    metrics.observe_request("accounts.list", "GET", 200, 0.002)

    response = await scrape(metrics)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    assert families["obank_gateway_requests"].type == "counter"
    assert families["obank_gateway_request_duration_seconds"].type == "histogram"
    assert families["process_resident_memory_bytes"].samples[0].value > 0


async def test_scrapers_asking_for_openmetrics_get_it() -> None:
    metrics = GatewayMetrics()
    metrics.token_rejected("bad_signature")

    response = await scrape(metrics, accept="application/openmetrics-text; version=1.0.0, text/plain;q=0.5")

    assert response.headers["content-type"].startswith("application/openmetrics-text")
    families = {family.name: family for family in parse_openmetrics(response.text)}  # type: ignore[no-untyped-call]
    assert families["obank_gateway_token_rejections"].samples[0].labels == {"reason": "bad_signature"}


async def test_only_get_and_head_of_metrics_are_served() -> None:
    metrics = GatewayMetrics()

    head = await scrape(metrics, "HEAD")
    post = await scrape(metrics, "POST")
    elsewhere = await scrape(metrics, "GET", "/metrics/extra")

    assert (head.status_code, head.content) == (200, b"")
    assert int(head.headers["content-length"]) > 0
    assert (post.status_code, post.headers["allow"]) == (405, "GET, HEAD")
    assert elsewhere.status_code == 404
