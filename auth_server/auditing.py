"""Security events of auth_server: an outbox event and an audit record each, written last in the transaction."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from audit.schemas import AuditEntry
from audit.writer import append_audit_record, ip_address_hash
from obank.actor import Actor
from obank.crypto import KeyRing
from obank.outbox import record_event

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


def client_ip(value: str | None) -> str | None:
    """The client address when it is an IP address (test transports report names such as `testclient`)."""
    if value is None:
        return None
    try:
        return ipaddress.ip_address(value).compressed
    except ValueError:
        return None


async def record_security_events(session: AsyncSession, keyring: KeyRing, *events: SecurityEvent) -> None:
    """Write each event's outbox row, then its audit record; call last, the audit chain head stays locked."""
    for event in events:
        payload: dict[str, Any] = {
            "action": event.action,
            "actor_kind": event.actor.kind.value,
            "actor_id": event.actor.id,
            "entity_type": event.entity_type,
            "entity_id": event.entity_id,
            "ip_hash": None if event.ip_address is None else ip_address_hash(keyring, event.ip_address).hex(),
            **event.details,
        }
        await record_event(session, topic=TOPIC, event_type=event.action, key=event.entity_id, payload=payload)
    for event in events:
        await append_audit_record(
            session,
            keyring,
            AuditEntry(
                actor_kind=event.actor.kind,
                actor_id=event.actor.id,
                session_id=event.actor.session_id,
                action=event.action,
                entity_type=event.entity_type,
                entity_id=event.entity_id,
                before=None,
                after=event.details or None,
                ip_address=event.ip_address,
            ),
        )
