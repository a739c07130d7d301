"""The audit record and outbox event of each OAuth state change, written last in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from audit.schemas import ActorKind, AuditEntry
from audit.writer import append_audit_record
from obank.crypto import KeyRing
from obank.outbox import record_event
from obank.principal import Principal

CLIENTS_TOPIC = "auth_server.clients"
KEYS_TOPIC = "auth_server.keys"
TOKENS_TOPIC = "auth_server.tokens"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: a client (token requests), a staff member (admin API), or the platform (CLI, start-up)."""

    kind: ActorKind
    id: str
    client_id: str | None = None

    @classmethod
    def client(cls, client_id: str) -> Actor:
        return cls(ActorKind.CLIENT, client_id, client_id)

    @classmethod
    def staff(cls, principal: Principal) -> Actor:
        return cls(ActorKind.STAFF, principal.subject)

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(ActorKind.SYSTEM, job)


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
    payload = {"actor_kind": actor.kind.value, "actor_id": actor.id, **details}
    await record_event(session, topic=topic, event_type=action, key=entity_id, payload=payload)
    await append_audit_record(
        session,
        keyring,
        AuditEntry(
            actor_kind=actor.kind,
            actor_id=actor.id,
            client_id=actor.client_id,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=details,
        ),
    )
