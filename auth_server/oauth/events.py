"""The outbox event and audit record of each OAuth state change, reported on the unit of work."""

from __future__ import annotations

from typing import Any

from obank.actor import Actor
from obank.unit_of_work import UnitOfWork

CLIENTS_TOPIC = "auth_server.clients"
KEYS_TOPIC = "auth_server.keys"
TOKENS_TOPIC = "auth_server.tokens"


def event_payload(actor: Actor, details: dict[str, Any]) -> dict[str, Any]:
    """An OAuth event's payload: who acted, then what changed."""
    return {"actor_kind": actor.kind.value, "actor_id": actor.id, **details}


def report_oauth_change(
    uow: UnitOfWork,
    *,
    topic: str,
    action: str,
    entity_type: str,
    entity_id: str,
    details: dict[str, Any],
    before: dict[str, Any] | None = None,
    actor: Actor | None = None,
    correlation_id: str | None = None,
    sealed: dict[str, Any] | None = None,
) -> None:
    """One change's outbox event and audit record (`details` is its after-state), by `actor` else the uow's actor.

    `correlation_id` names the request the change belongs to when it is not the current one (a group commit).
    `sealed` facts go into the audit record alone, whose changes are sealed at rest (a staff member's reason).
    """
    who = actor or uow.actor
    payload = event_payload(who, details)
    uow.publish(topic=topic, event_type=action, key=entity_id, payload=payload, correlation_id=correlation_id)
    uow.audit(
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after={**details, **sealed} if sealed else details,
        actor=who,
        correlation_id=correlation_id,
    )
