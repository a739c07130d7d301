"""Who acts on core_banking, and the audit record every state change writes in its own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from audit.schemas import AuditEntry
from audit.writer import append_audit_record
from obank.actor import Actor
from obank.crypto import KeyRing


async def record_audit(
    session: AsyncSession,
    keyring: KeyRing,
    actor: Actor,
    *,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Append the audit record of one change; call it last, it holds the audit chain head until commit."""
    await append_audit_record(
        session,
        keyring,
        AuditEntry(
            actor_kind=actor.kind,
            actor_id=actor.id,
            client_id=actor.client_id,
            session_id=actor.session_id,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=after,
        ),
    )
