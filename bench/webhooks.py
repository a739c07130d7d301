"""Webhook delivery: deliveries per second and event-to-delivery latency to 20 HTTPS endpoints, one of them slow,
against a baseline of plain HTTPS POSTs to the same receivers.

Run: `.venv/bin/python -m bench.webhooks [--events 1000] [--rate 10] [--paced-seconds 20] [--slow-delay 2]
[--baseline-seconds 3] [--loop uvloop]`. It starts a throw-away embedded PostgreSQL and, in a second process,
the receivers: 20 endpoints over TLS (a CA made for the run), `/e00` answering after `--slow-delay` seconds, the
others at once, each noting when every `webhook-id` arrived. This process runs what `obank serve` runs for
webhooks: the outbox relay dispatching to the fan-out consumer in-process, and the delivery loop.
- baseline: aiohttp POSTs of the same size to the 19 fast endpoints, `webhooks_concurrency` in flight, no
  database: the ceiling of this machine's TLS client and receivers;
- paced: `--rate` events a second for `--paced-seconds` (each to all 20 endpoints): latency from the outbox event's
  `occurred_at` (the database's clock as its transaction began) to its arrival at a fast receiver;
- burst: `--events` events committed at once: deliveries/s to the fast endpoints, first commit to last arrival,
  and their latency; the slow endpoint's progress meanwhile (it holds only its own slots).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import uvloop
from sqlalchemy import text

from audit.trail import platform_units
from notifications.webhooks import service
from notifications.webhooks.consumers import webhook_fanout_consumer
from notifications.webhooks.delivery import WebhookDelivery, client_ssl_context
from notifications.webhooks.schemas import EndpointCreate
from obank.actor import Actor
from obank.certs import certificate_pem, create_certificate_authority, issue_server_certificate, private_key_pem
from obank.database import unit_of_work
from obank.embedded_db import ensure_embedded_database, stop_embedded_database
from obank.migrate import upgrade_to_head
from obank.outbox.consumers import ConsumerRegistry
from obank.outbox.record import NewEvent, record_events
from obank.outbox.relay import InProcessPublisher, OutboxRelay
from obank.runtime import Platform, build_platform
from obank.settings import PROJECT_ROOT, Settings
from obank.topics import PAYMENTS_TOPIC

ENDPOINTS = 20
SLOW = "e00"
BENCH_ACTOR = Actor.system("bench.webhooks")


# The receivers (a process of their own).


def receiver_app(slow_delay: float) -> Any:
    arrivals: dict[str, dict[str, float]] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        name = scope["path"].strip("/")
        if scope["method"] == "GET":
            body = json.dumps(arrivals).encode()
        else:
            headers = dict(scope["headers"])
            arrivals.setdefault(name, {}).setdefault(headers.get(b"webhook-id", b"baseline").decode(), time.time())
            if name == SLOW:
                await asyncio.sleep(slow_delay)
            body = b""
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


def run_receivers(directory: Path, slow_delay: float) -> None:
    from obank.server import TLSFiles, bind_socket, build_server

    sock = bind_socket("127.0.0.1", 0)
    (directory / "port").write_text(str(sock.getsockname()[1]))
    files = TLSFiles(directory / "server.pem", directory / "server.key", None)
    server = build_server(receiver_app(slow_delay), files, graceful_shutdown_s=1)
    uvloop.run(server.serve(sockets=[sock]))


def start_receivers(directory: Path, slow_delay: float) -> tuple[subprocess.Popen[bytes], int]:
    ca_cert, ca_key = create_certificate_authority("bench receivers' CA")
    cert, key = issue_server_certificate(ca_cert, ca_key)
    (directory / "ca.pem").write_bytes(certificate_pem(ca_cert))
    (directory / "server.pem").write_bytes(certificate_pem(cert))
    (directory / "server.key").write_bytes(private_key_pem(key))
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.webhooks", "--receivers", str(directory), "--slow-delay", str(slow_delay)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    deadline = time.monotonic() + 20
    while not (directory / "port").exists() or not (directory / "port").read_text():
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the receivers did not start")
        time.sleep(0.05)
    time.sleep(0.5)
    return process, int((directory / "port").read_text())


# The sender.


def payment_event() -> NewEvent:
    payment_id = str(uuid.uuid4())
    payload = {
        "payment_id": payment_id,
        "origin": "CUSTOMER",
        "route": "INTERNAL",
        "customer_id": str(uuid.uuid4()),
        "debtor_account_id": str(uuid.uuid4()),
        "creditor_account_id": str(uuid.uuid4()),
        "amount_minor": 12_345,
        "currency": "GBP",
        "status": "ACSC",
        "reason": None,
        "consent_id": None,
        "client_id": None,
        "scheme_transaction_id": None,
        "payee_id": None,
    }
    return NewEvent(topic=PAYMENTS_TOPIC, event_type="payment.status_changed", key=payment_id, payload=payload)


async def baseline(base: str, ca_file: Path, concurrency: int, seconds: float) -> float:
    """Plain HTTPS POSTs per second to the fast receivers: no database, no signing."""
    body = json.dumps({"type": "payment.status_changed", "timestamp": "x", "data": payment_event().payload}).encode()
    connector = aiohttp.TCPConnector(ssl=client_ssl_context(ca_file), limit=concurrency)
    done = 0
    async with aiohttp.ClientSession(connector=connector) as http:
        deadline = time.monotonic() + seconds

        async def worker(index: int) -> None:
            nonlocal done
            url = f"{base}/e{1 + index % (ENDPOINTS - 1):02d}"
            while time.monotonic() < deadline:
                async with http.post(url, data=body, headers={"content-type": "application/json"}) as response:
                    await response.read()
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(worker(index) for index in range(concurrency)))
        return done / (time.monotonic() - started)


async def arrivals(base: str, ca_file: Path) -> dict[str, dict[str, float]]:
    connector = aiohttp.TCPConnector(ssl=client_ssl_context(ca_file))
    async with aiohttp.ClientSession(connector=connector) as http, http.get(f"{base}/stats") as response:
        result: dict[str, dict[str, float]] = json.loads(await response.read())
        return result


async def occurred(platform: Platform) -> dict[str, tuple[str, float]]:
    """Each message's webhook-id: its endpoint's path and its event's occurred_at (epoch seconds)."""
    async with unit_of_work(platform.sessions) as session:
        rows = await session.execute(
            text(
                "SELECT 'msg_' || replace(m.id::text, '-', ''), substring(e.url from '/(e[0-9]+)$'),"
                " extract(epoch from m.occurred_at) FROM notifications.webhook_messages m"
                " JOIN notifications.webhook_endpoints e ON e.id = m.endpoint_id"
            )
        )
        return {row[0]: (row[1], float(row[2])) for row in rows}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def commit_events(platform: Platform, count: int) -> None:
    async with unit_of_work(platform.sessions) as session:
        await record_events(session, [payment_event() for _ in range(count)])


async def measure(database_url: str, scratch: Path, args: argparse.Namespace) -> None:
    receivers, port = start_receivers(scratch, args.slow_delay)
    base = f"https://127.0.0.1:{port}"
    ca_file = scratch / "ca.pem"
    settings = Settings(
        env="test",
        data_dir=scratch / "var",
        database_url=database_url,
        webhooks_allow_private_networks=True,
        webhooks_ca_file=ca_file,
        outbox_poll_interval_s=0.05,
    )
    platform = build_platform(settings)
    try:
        posts = await baseline(base, ca_file, settings.webhooks_concurrency, args.baseline_seconds)
        print(f"baseline: plain HTTPS POST to 19 receivers: {posts:,.0f}/s", flush=True)

        rules = service.EndpointRules.from_settings(settings)
        async with platform_units(platform).begin(BENCH_ACTOR) as uow:
            for index in range(ENDPOINTS):
                body = EndpointCreate(url=f"{base}/e{index:02d}", event_types=["payment.status_changed"])
                await service.create_endpoint(uow, body, rules)
        registry = ConsumerRegistry()
        registry.register(webhook_fanout_consumer())
        relay = OutboxRelay(platform.sessions, InProcessPublisher(registry, platform.sessions), batch_size=200)
        wakeup = asyncio.Event()
        platform.listener.subscribe("obank_outbox", lambda _payload: wakeup.set())
        await platform.listener.start()
        stop = asyncio.Event()
        delivery = WebhookDelivery(platform)
        cpu_started = time.process_time()
        tasks = [
            asyncio.create_task(relay.run_forever(stop, settings.outbox_poll_interval_s, wakeup)),
            asyncio.create_task(delivery.run(stop)),
        ]
        try:
            # Paced: a steady stream the process keeps up with.
            paced_events = round(args.rate * args.paced_seconds)
            paced_started = time.time()
            for _ in range(paced_events):
                await commit_events(platform, 1)
                await asyncio.sleep(1 / args.rate)
            await asyncio.sleep(2.0)
            # Burst: everything at once.
            burst_started = time.time()
            await commit_events(platform, args.events)
            fast_expected = (paced_events + args.events) * (ENDPOINTS - 1)
            deadline = time.monotonic() + args.timeout
            while True:
                seen = await arrivals(base, ca_file)
                fast = sum(len(ids) for name, ids in seen.items() if name not in (SLOW, "stats"))
                if fast >= fast_expected or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            cpu = time.process_time() - cpu_started
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
        messages = await occurred(platform)
        seen = await arrivals(base, ca_file)
    finally:
        await platform.close()
        receivers.terminate()
        receivers.wait(10)

    def latencies(since: float, until: float) -> tuple[list[float], float]:
        values, last = [], since
        for name, ids in seen.items():
            if name == SLOW:
                continue
            for message_id, arrived in ids.items():
                known = messages.get(message_id)
                if known is not None and since <= known[1] < until:
                    values.append((arrived - known[1]) * 1000)
                    last = max(last, arrived)
        return values, last

    paced, _ = latencies(paced_started, burst_started)
    burst, last_arrival = latencies(burst_started, float("inf"))
    burst_rate = len(burst) / (last_arrival - burst_started) if burst else 0.0
    slow_done = len(seen.get(SLOW, {}))
    total = len(paced) + len(burst)
    print(
        f"paced {args.rate:g} events/s x 20 endpoints for {args.paced_seconds:g} s: {len(paced)} fast deliveries,"
        f" latency p50 {statistics.median(paced):.0f} ms, p99 {percentile(paced, 99):.0f} ms",
        flush=True,
    )
    print(
        f"burst of {args.events} events: {len(burst)} fast deliveries in {last_arrival - burst_started:.1f} s ="
        f" {burst_rate:,.0f} deliveries/s, latency p50 {statistics.median(burst):.0f} ms,"
        f" p99 {percentile(burst, 99):.0f} ms; slow endpoint ({args.slow_delay:g} s answers): {slow_done} delivered",
        flush=True,
    )
    print(f"cpu: {cpu * 1000 / max(total, 1):.2f} ms of this process per fast delivery (relay, fan-out, delivery)")
    print(
        f"webhooks: {burst_rate:,.0f} deliveries/s ({burst_rate / posts:.3f} x baseline {posts:,.0f} POST/s),"
        f" p99 event-to-delivery {percentile(paced, 99):.0f} ms paced / {percentile(burst, 99):.0f} ms burst,"
        f" 20 endpoints, 1 slow",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1000, help="events of the burst (each to 20 endpoints)")
    parser.add_argument("--rate", type=float, default=10.0, help="events a second in the paced phase")
    parser.add_argument("--paced-seconds", type=float, default=20.0, help="length of the paced phase")
    parser.add_argument("--slow-delay", type=float, default=2.0, help="seconds the slow endpoint takes to answer")
    parser.add_argument("--baseline-seconds", type=float, default=3.0, help="measured seconds of the baseline")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up waiting for the burst after this")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop", help="event loop")
    parser.add_argument("--receivers", type=Path, help=argparse.SUPPRESS)  # the receivers' own process
    args = parser.parse_args()
    if args.receivers is not None:
        run_receivers(args.receivers, args.slow_delay)
        return
    with tempfile.TemporaryDirectory(prefix="obank-bench-") as scratch:
        pgdata = Path(scratch) / "pgdata"
        url = ensure_embedded_database(pgdata, database="bench")
        try:
            upgrade_to_head(url)
            loop_factory = uvloop.new_event_loop if args.loop == "uvloop" else asyncio.new_event_loop
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(measure(url, Path(scratch), args))
        finally:
            stop_embedded_database(pgdata)


if __name__ == "__main__":
    main()
