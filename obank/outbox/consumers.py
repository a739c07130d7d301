"""Event consumers and their idempotent application: each event changes a consumer's state at most once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from obank.correlation import bind_correlation_id
from obank.database import unit_of_work
from obank.log import get_logger
from obank.outbox import repository
from obank.outbox.record import Event
from obank.telemetry import consuming

Handler = Callable[[AsyncSession, Event], Awaitable[None]]

_log = get_logger("obank.outbox.consumers")


@dataclass(frozen=True, slots=True)
class Consumer:
    """A named reaction to events on some topics; the handler only flushes, `apply_once` commits."""

    name: str
    topics: tuple[str, ...]
    handler: Handler


class DuplicateConsumerError(ValueError):
    """Two consumers share a name, so they would share one idempotency ledger and Kafka group."""


class ConsumerRegistry:
    """Every consumer a process runs, looked up by the topic of an event."""

    def __init__(self) -> None:
        self._consumers: dict[str, Consumer] = {}

    def register(self, consumer: Consumer) -> Consumer:
        if consumer.name in self._consumers:
            raise DuplicateConsumerError(f"a consumer named {consumer.name!r} is already registered")
        if not consumer.topics:
            raise ValueError(f"consumer {consumer.name!r} subscribes to no topic")
        self._consumers[consumer.name] = consumer
        return consumer

    def subscribe(self, name: str, *topics: str) -> Callable[[Handler], Handler]:
        """Decorator form of `register` for a handler function."""

        def decorate(handler: Handler) -> Handler:
            self.register(Consumer(name=name, topics=topics, handler=handler))
            return handler

        return decorate

    def subscribed_to(self, topic: str) -> list[Consumer]:
        return [consumer for consumer in self._consumers.values() if topic in consumer.topics]

    def topics(self) -> set[str]:
        return {topic for consumer in self._consumers.values() for topic in consumer.topics}

    def __iter__(self) -> Iterator[Consumer]:
        return iter(self._consumers.values())

    def __len__(self) -> int:
        return len(self._consumers)


def default_registry() -> ConsumerRegistry:
    """The consumers `obank worker` runs; each context registers its own here as it gains them."""
    return ConsumerRegistry()


async def apply_once(sessions: async_sessionmaker[AsyncSession], consumer: Consumer, event: Event) -> bool:
    """Apply `event` to `consumer` in one transaction unless already applied; True when applied now."""
    # A task of its own keeps the event's correlation id out of the caller's context.
    return await asyncio.create_task(_apply_once(sessions, consumer, event))


async def _apply_once(sessions: async_sessionmaker[AsyncSession], consumer: Consumer, event: Event) -> bool:
    bind_correlation_id(event.correlation_id)
    with consuming(consumer.name, event):
        async with unit_of_work(sessions) as session:
            if not await repository.mark_consumed(session, consumer.name, event.event_id):
                _log.debug("duplicate_skipped", consumer=consumer.name, event_id=str(event.event_id))
                return False
            await consumer.handler(session, event)
    return True
