"""Transactional outbox: events recorded with the state change, published after commit by a relay."""

from obank.outbox.consumers import Consumer, ConsumerRegistry, apply_once, default_registry
from obank.outbox.record import Event, record_event
from obank.outbox.relay import InProcessPublisher, OutboxRelay, Publisher, PublishError

__all__ = [
    "Consumer",
    "ConsumerRegistry",
    "Event",
    "InProcessPublisher",
    "OutboxRelay",
    "PublishError",
    "Publisher",
    "apply_once",
    "default_registry",
    "record_event",
]
