"""The authorization server's reactions to other contexts' events about its grants."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from audit.writer import append_audit_records
from auth_server.oauth.config import OAuthConfig
from auth_server.oauth.grants import service
from core_banking.facade import RevokedBy
from obank.actor import Actor, ActorKind
from obank.crypto import KeyRing
from obank.log import get_logger
from obank.outbox.consumers import Consumer
from obank.outbox.record import Event
from obank.revocation import RevocationList
from obank.topics import CONSENT_EXPIRED, CONSENT_REVOKED, CONSENTS_TOPIC
from obank.unit_of_work import UnitOfWork

CONSENT_END_CONSUMER = "auth_server.consent_end"
CONSENT_LAPSE_ACTOR = Actor.system("auth_server.consent-end")
# What ends a consent for good, and the reason its grants' tokens are revoked with.
ENDING_EVENTS = {CONSENT_REVOKED: "consent_revoked", CONSENT_EXPIRED: "consent_expired"}
_log = get_logger("auth_server.oauth.grants.consumers")


def _who_ended(event_type: str, payload: dict[str, Any], client_id: str) -> Actor:
    """Who ended the consent: the TPP (its DELETE), the customer, or time."""
    revoked_by, customer_id = payload.get("revoked_by"), payload.get("customer_id")
    if event_type == CONSENT_REVOKED and revoked_by == RevokedBy.CLIENT:
        return Actor.client(client_id)
    if event_type == CONSENT_REVOKED and revoked_by == RevokedBy.CUSTOMER and customer_id:
        return Actor(ActorKind.CUSTOMER, str(customer_id), client_id)
    return CONSENT_LAPSE_ACTOR


def consent_end_consumer(keyring: KeyRing, revocations: RevocationList, config: OAuthConfig) -> Consumer:
    """A consent ended in core banking (revoked by the TPP or the customer, or expired): the grants bound to it
    end too, with their refresh tokens, so no token is issued under it again (idempotent)."""

    async def apply(session: AsyncSession, event: Event) -> None:
        payload = event.payload
        reason = ENDING_EVENTS.get(event.event_type)
        consent_id, client_id = payload.get("consent_id"), payload.get("client_id")
        if reason is None or not consent_id or not client_id:
            return
        actor = _who_ended(event.event_type, payload, str(client_id))
        # The consumer's own transaction (apply_once commits it), reporting like any other unit of work.
        uow = UnitOfWork(session, keyring, actor, append_audit_records)
        ended = await service.end_consent_grants(
            uow,
            revocations,
            consent_id=str(consent_id),
            client_id=str(client_id),
            actor=actor,
            access_token_lifetime_s=config.access_token_lifetime_s,
            reason=reason,
        )
        await uow.write_reports()
        if ended:
            _log.info("grants_ended_with_consent", reason=reason, grants=[str(g.id) for g in ended])

    return Consumer(name=CONSENT_END_CONSUMER, topics=(CONSENTS_TOPIC,), handler=apply)
