"""Re-apply the gateway's deny-list entries from revocation events, for processes that share no memory.

The revoking request writes the deny-list itself (before its commit); a gateway in another process without
a shared Redis learns of the revocation from the `token.revoked` and `grant.revoked` events instead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.grants.service import GRANTS_TOPIC, grant_denials
from auth_server.oauth.tokens.service import TOKEN_REVOCATIONS_TOPIC, jti_denial
from obank.log import get_logger
from obank.outbox.consumers import Consumer, ConsumerRegistry
from obank.outbox.record import Event
from obank.revocation import RevocationList

REVOCATION_CONSUMER = "auth_server.revocation_deny_list"

_log = get_logger("auth_server.oauth.grants.consumers")


def denial_of(event: Event) -> tuple[list[str], datetime] | None:
    """The deny-list entries a revocation event stands for, and until when; None for any other event."""
    payload = event.payload
    until = payload.get("denied_until")
    if not isinstance(until, str):
        return None
    if event.event_type == "token.revoked":
        identifiers = [jti_denial(jti) for jti in payload.get("access_token_jtis") or ()]
    elif event.event_type == "grant.revoked" and payload.get("grant_id"):
        identifiers = grant_denials(str(payload["grant_id"]), payload.get("consent_id"))
    else:
        return None
    return (identifiers, datetime.fromisoformat(until)) if identifiers else None


def revocation_consumer(revocations: RevocationList) -> Consumer:
    """The consumer writing revocation events into `revocations` (the process's deny-list)."""

    async def apply(_session: AsyncSession, event: Event) -> None:
        denial = denial_of(event)
        if denial is None:
            return
        identifiers, until = denial
        await revocations.revoke(identifiers, until)
        _log.info("revocation_applied", event_type=event.event_type, entries=len(identifiers))

    return Consumer(name=REVOCATION_CONSUMER, topics=(TOKEN_REVOCATIONS_TOPIC, GRANTS_TOPIC), handler=apply)


def register_revocation_consumer(registry: ConsumerRegistry, revocations: RevocationList) -> Consumer:
    """Add the revocation consumer to `registry` (the worker's, or `obank serve`'s in-process relay)."""
    return registry.register(revocation_consumer(revocations))
