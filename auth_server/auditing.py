"""Security events of auth_server: each an outbox event and an audit record, reported on the unit of work."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from audit.writer import ip_address_hash
from obank.actor import Actor
from obank.unit_of_work import UnitOfWork

TOPIC = "auth_server.security"


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """One security-relevant fact: `action` names it (`login.failed`), `entity_id` keys its events."""

    action: str
    actor: Actor
    entity_type: str
    entity_id: str
    details: dict[str, Any] = field(default_factory=dict)
    ip_address: str | None = None
    # Kept in the audit record alone, whose changes are sealed at rest, never in the event (a staff member's reason).
    sealed: dict[str, Any] = field(default_factory=dict)


def client_ip(value: str | None) -> str | None:
    """The client address when it is an IP address (test transports report names such as `testclient`)."""
    if value is None:
        return None
    try:
        return ipaddress.ip_address(value).compressed
    except ValueError:
        return None


def report_security_events(uow: UnitOfWork, *events: SecurityEvent) -> None:
    """Each event's outbox event (with the keyed hash of the IP, never the IP) and its audit record, by its actor;
    the audit record alone holds the event's `sealed` facts."""
    for event in events:
        payload: dict[str, Any] = {
            "action": event.action,
            "actor_kind": event.actor.kind.value,
            "actor_id": event.actor.id,
            "entity_type": event.entity_type,
            "entity_id": event.entity_id,
            "ip_hash": None if event.ip_address is None else ip_address_hash(uow.keyring, event.ip_address).hex(),
            **event.details,
        }
        uow.publish(topic=TOPIC, event_type=event.action, key=event.entity_id, payload=payload)
        uow.audit(
            action=event.action,
            entity_type=event.entity_type,
            entity_id=event.entity_id,
            after={**event.details, **event.sealed} or None,
            actor=event.actor,
            ip_address=event.ip_address,
        )
