"""Kafka transport: the relay's publisher and the consumer groups feeding `apply_once`."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from obank.log import get_logger
from obank.outbox.consumers import Consumer, ConsumerRegistry, apply_once
from obank.outbox.record import Event
from obank.outbox.relay import PublishError, sleep_unless_stopped

_log = get_logger("obank.outbox.kafka")

HEADER_EVENT_ID = "event-id"
HEADER_EVENT_TYPE = "event-type"
HEADER_CORRELATION_ID = "correlation-id"
HEADER_TRACEPARENT = "traceparent"  # W3C Trace Context, as tracing tools read Kafka headers


class UndecodableEventError(ValueError):
    """A Kafka record that is not an obank event; it can never be applied."""


def kafka_topic(topic_prefix: str, topic: str) -> str:
    return f"{topic_prefix}{topic}"


def consumer_group(consumer: Consumer) -> str:
    return f"obank.{consumer.name}"


def encode_event(event: Event) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key (the aggregate id, so one aggregate's events share a partition), JSON value and headers."""
    value = {
        "event_id": str(event.event_id),
        "topic": event.topic,
        "event_type": event.event_type,
        "key": event.key,
        "payload": event.payload,
        "correlation_id": event.correlation_id,
        "occurred_at": event.occurred_at.isoformat(),
    }
    headers = [
        (HEADER_EVENT_ID, str(event.event_id).encode()),
        (HEADER_EVENT_TYPE, event.event_type.encode()),
        (HEADER_CORRELATION_ID, event.correlation_id.encode()),
    ]
    if event.traceparent:
        value["traceparent"] = event.traceparent
        headers.append((HEADER_TRACEPARENT, event.traceparent.encode()))
    return event.key.encode(), json.dumps(value, separators=(",", ":")).encode(), headers


def decode_event(value: bytes | None) -> Event:
    """The event carried by a record value written by `encode_event`."""
    try:
        data: dict[str, Any] = json.loads(value or b"")
        return Event(
            event_id=uuid.UUID(data["event_id"]),
            topic=str(data["topic"]),
            event_type=str(data["event_type"]),
            key=str(data["key"]),
            payload=dict(data["payload"]),
            correlation_id=str(data["correlation_id"]),
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
            traceparent=str(data["traceparent"]) if data.get("traceparent") else None,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise UndecodableEventError("record value is not an obank event") from exc


async def ensure_topics(
    bootstrap_servers: str, topics: Collection[str], *, partitions: int, replication_factor: int
) -> None:
    """Create missing topics: production brokers usually disable auto-creation."""
    if not topics:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="obank-admin")
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, partitions, replication_factor) for name in sorted(topics)]
        )
    finally:
        await admin.close()
    for name, error_code, *_ in response.topic_errors:
        if error_code not in (0, TopicAlreadyExistsError.errno):
            raise for_code(error_code)(f"creating topic {name!r}")


class KafkaPublisher:
    """Publishes outbox events to `<prefix><topic>`, keyed by aggregate id, awaiting every ack."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic_prefix: str,
        *,
        partitions: int = 3,
        replication_factor: int = 1,
        enable_idempotence: bool = True,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic_prefix = topic_prefix
        self.partitions = partitions
        self.replication_factor = replication_factor
        self.enable_idempotence = enable_idempotence
        self._producer: Any = None
        self._known_topics: set[str] = set()

    async def start(self) -> None:
        # acks=all: a message counts as delivered only once every in-sync replica has it; the
        # idempotent producer keeps its own retries from duplicating or reordering a partition.
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            client_id="obank-outbox-relay",
            acks="all",
            enable_idempotence=self.enable_idempotence,
        )
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def publish(self, events: Sequence[Event]) -> None:
        """Send the batch, then wait for every acknowledgement before it may be marked published."""
        if self._producer is None:
            raise RuntimeError("KafkaPublisher.start() was not awaited")
        await self._ensure_topics({kafka_topic(self.topic_prefix, event.topic) for event in events})
        pending: list[asyncio.Future[Any]] = []
        send_failure: Exception | None = None
        for event in events:
            key, value, headers = encode_event(event)
            try:
                pending.append(
                    await self._producer.send(
                        kafka_topic(self.topic_prefix, event.topic), value=value, key=key, headers=headers
                    )
                )
            except KafkaError as exc:
                send_failure = exc
                break
        results = await asyncio.gather(*pending, return_exceptions=True)
        for index, result in enumerate(results):
            if isinstance(result, BaseException):
                raise PublishError(index, events[index]) from result
        if send_failure is not None:
            raise PublishError(len(pending), events[len(pending)]) from send_failure

    async def _ensure_topics(self, topics: set[str]) -> None:
        missing = topics - self._known_topics
        if missing:
            await ensure_topics(
                self.bootstrap_servers,
                missing,
                partitions=self.partitions,
                replication_factor=self.replication_factor,
            )
            self._known_topics |= missing


@dataclass
class ConsumerStats:
    """What one consumer received: duplicates are deliveries its idempotency ledger refused."""

    delivered: int = 0
    applied: int = 0
    duplicates: int = 0
    undecodable: int = 0


class KafkaConsumerRunner:
    """One Kafka consumer group per registered consumer, committing offsets only after `apply_once` did."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic_prefix: str,
        registry: ConsumerRegistry,
        sessions: async_sessionmaker[AsyncSession],
        *,
        partitions: int = 3,
        replication_factor: int = 1,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3_000,
        poll_timeout_ms: int = 500,
        retry_delay_s: float = 1.0,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic_prefix = topic_prefix
        self.registry = registry
        self.sessions = sessions
        self.partitions = partitions
        self.replication_factor = replication_factor
        self.session_timeout_ms = session_timeout_ms
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.poll_timeout_ms = poll_timeout_ms
        self.retry_delay_s = retry_delay_s
        self.stats: dict[str, ConsumerStats] = {consumer.name: ConsumerStats() for consumer in registry}

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; a consumer that cannot start stops the others and raises."""
        if not len(self.registry):
            await stop.wait()
            return
        await ensure_topics(
            self.bootstrap_servers,
            {kafka_topic(self.topic_prefix, topic) for topic in self.registry.topics()},
            partitions=self.partitions,
            replication_factor=self.replication_factor,
        )
        tasks = [
            asyncio.create_task(self._consume(consumer, stop), name=f"kafka-consumer-{consumer.name}")
            for consumer in self.registry
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _consume(self, consumer: Consumer, stop: asyncio.Event) -> None:
        kafka_consumer = AIOKafkaConsumer(
            *(kafka_topic(self.topic_prefix, topic) for topic in consumer.topics),
            bootstrap_servers=self.bootstrap_servers,
            group_id=consumer_group(consumer),
            client_id=f"obank-{consumer.name}",
            enable_auto_commit=False,
            # A new group starts from the oldest retained event: nothing published before it joined is lost.
            auto_offset_reset="earliest",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=self.heartbeat_interval_ms,
        )
        await kafka_consumer.start()
        # A crash between the database commit and the offset commit redelivers; the ledger deduplicates.
        try:
            while not stop.is_set():
                batches = await kafka_consumer.getmany(timeout_ms=self.poll_timeout_ms)
                failed = False
                for partition, records in batches.items():
                    if not await self._apply_partition(kafka_consumer, consumer, partition, records):
                        failed = True
                if failed:
                    await sleep_unless_stopped(stop, self.retry_delay_s)
        finally:
            await kafka_consumer.stop()

    async def _apply_partition(
        self, kafka_consumer: Any, consumer: Consumer, partition: Any, records: Sequence[Any]
    ) -> bool:
        """Apply one partition's records in order; on a failure rewind to it and report False."""
        stats = self.stats[consumer.name]
        next_offset: int | None = None
        succeeded = True
        for record in records:
            stats.delivered += 1
            try:
                event = decode_event(record.value)
            except UndecodableEventError:
                stats.undecodable += 1
                _log.error("undecodable_event_skipped", consumer=consumer.name, topic=record.topic)
                next_offset = record.offset + 1
                continue
            try:
                applied = await apply_once(self.sessions, consumer, event)
            except Exception:
                _log.exception("event_handler_failed", consumer=consumer.name, event_id=str(event.event_id))
                # Later records of this partition wait: redelivering from here keeps the key's order.
                kafka_consumer.seek(partition, record.offset)
                succeeded = False
                break
            if applied:
                stats.applied += 1
            else:
                stats.duplicates += 1
            next_offset = record.offset + 1
        if next_offset is not None:
            try:
                await kafka_consumer.commit({partition: next_offset})
            except KafkaError:
                # Typically a rebalance moved the partition: its new owner gets these records again
                # and the idempotency ledger skips them.
                _log.warning("offset_commit_failed", consumer=consumer.name, topic=partition.topic)
        return succeeded
