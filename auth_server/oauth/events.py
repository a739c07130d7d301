"""The audit record and outbox event of each OAuth state change, written last in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from audit.schemas import AuditEntry
from audit.writer import append_audit_records
from obank.actor import Actor
from obank.crypto import KeyRing
from obank.outbox.record import NewEvent, record_events

CLIENTS_TOPIC = "auth_server.clients"
KEYS_TOPIC = "auth_server.keys"
TOKENS_TOPIC = "auth_server.tokens"


@dataclass(frozen=True, slots=True, kw_only=True)
class OAuthChange:
    """One OAuth state change to record; without a correlation id it takes the current request's."""

    actor: Actor
    topic: str
    action: str
    entity_type: str
    entity_id: str
    details: dict[str, Any]
    before: dict[str, Any] | None = None
    correlation_id: str | None = None


async def record_oauth_event(
    session: AsyncSession,
    keyring: KeyRing,
    actor: Actor,
    *,
    topic: str,
    action: str,
    entity_type: str,
    entity_id: str,
    details: dict[str, Any],
    before: dict[str, Any] | None = None,
) -> None:
    """Outbox event then audit record (the audit append locks the chain head until commit: call it last)."""
    change = OAuthChange(
        actor=actor,
        topic=topic,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        details=details,
        before=before,
    )
    await record_oauth_events(session, keyring, (change,))


async def record_oauth_events(session: AsyncSession, keyring: KeyRing, changes: Sequence[OAuthChange]) -> None:
    """Every change's outbox event (one INSERT), then their audit records on one chain (locked until commit)."""
    await record_events(
        session,
        [
            NewEvent(
                topic=change.topic,
                event_type=change.action,
                key=change.entity_id,
                payload={"actor_kind": change.actor.kind.value, "actor_id": change.actor.id, **change.details},
                correlation_id=change.correlation_id,
            )
            for change in changes
        ],
    )
    await append_audit_records(
        session,
        keyring,
        [
            AuditEntry(
                actor_kind=change.actor.kind,
                actor_id=change.actor.id,
                client_id=change.actor.client_id,
                action=change.action,
                entity_type=change.entity_type,
                entity_id=change.entity_id,
                before=change.before,
                after=change.details,
                correlation_id=change.correlation_id,
            )
            for change in changes
        ],
    )
