"""`obank worker`: the outbox relay plus, with Kafka configured, the consumer groups, until a signal."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from typing import Any

from obank.log import get_logger
from obank.outbox.consumers import ConsumerRegistry
from obank.outbox.kafka import KafkaConsumerRunner, KafkaPublisher
from obank.outbox.relay import OUTBOX_CHANNEL, InProcessPublisher, OutboxRelay, Publisher
from obank.runtime import Platform

_log = get_logger("obank.outbox.worker")
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def run_worker(
    platform: Platform,
    registry: ConsumerRegistry,
    *,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
) -> None:
    """Relay and consume until SIGINT/SIGTERM (or `stop`); events dispatch in-process without Kafka.

    Inside `obank serve` the server owns the signals (`handle_signals=False`) and sets `stop` itself.
    """
    settings = platform.settings
    platform.metrics.watch_consumers(registry)  # their lag on this process's /metrics
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = _STOP_SIGNALS if handle_signals else ()
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        async with AsyncExitStack() as stack:
            jobs: list[Coroutine[Any, Any, None]] = []
            publisher: Publisher
            if settings.kafka_bootstrap_servers:
                publisher = await stack.enter_async_context(
                    KafkaPublisher(
                        settings.kafka_bootstrap_servers,
                        settings.kafka_topic_prefix,
                        partitions=settings.kafka_topic_partitions,
                        replication_factor=settings.kafka_replication_factor,
                        enable_idempotence=settings.kafka_idempotent_producer,
                    )
                )
                runner = KafkaConsumerRunner(
                    settings.kafka_bootstrap_servers,
                    settings.kafka_topic_prefix,
                    registry,
                    platform.sessions,
                    partitions=settings.kafka_topic_partitions,
                    replication_factor=settings.kafka_replication_factor,
                )
                jobs.append(runner.run(stop))
            else:
                publisher = InProcessPublisher(registry, platform.sessions)
            relay = OutboxRelay(platform.sessions, publisher, settings.outbox_batch_size)
            # Committed events wake the relay through the process's listener; polling stays as the fallback.
            wakeup = asyncio.Event()
            subscription = platform.listener.subscribe(OUTBOX_CHANNEL, lambda _payload: wakeup.set())
            stack.callback(platform.listener.unsubscribe, subscription)
            platform.listener.start_in_background()
            jobs.append(relay.run_forever(stop, settings.outbox_poll_interval_s, wakeup))
            _log.info("worker_started", count=len(registry))
            await _until_stopped(jobs, stop)
            _log.info("worker_stopped")
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


async def _until_stopped(jobs: list[Coroutine[Any, Any, None]], stop: asyncio.Event) -> None:
    """Run the jobs until `stop`; the first one to fail stops the rest and its error is raised."""
    tasks = [asyncio.create_task(job) for job in jobs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            error = task.exception()
            if error is not None:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise error
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
