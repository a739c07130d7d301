"""Transactional outbox: events recorded with the state change, published after commit by a relay."""

from obank.outbox.record import Event, record_event

__all__ = ["Event", "record_event"]
