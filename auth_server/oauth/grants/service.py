"""Record, read and revoke grants; revocation kills the grant's tokens at once and tells the gateway."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.authorize import repository as codes_repository
from auth_server.oauth.config import ACCESS_TOKEN_LIFETIME_S, CLOCK_SKEW_S
from auth_server.oauth.errors import InvalidGrant
from auth_server.oauth.events import report_oauth_change
from auth_server.oauth.grants import repository
from auth_server.oauth.grants.models import GrantStatus, OAuthGrant
from auth_server.oauth.grants.schemas import ConsentState
from auth_server.oauth.tokens.service import TokenService, revoke_tokens
from obank import topics
from obank.actor import Actor, ActorKind
from obank.revocation import RevocationList, consent_denial, grant_denial
from obank.unit_of_work import UnitOfWork

GRANTS_TOPIC = topics.GRANTS_TOPIC
STAFF_REVOKED = "staff_revoked"  # the reason code of a grant's and its tokens' revocation by staff
SESSION_ENDED = "session_ended"  # the reason code of what a sign-in session issued, revoked as the session ended


def grant_denials(grant_id: uuid.UUID | str, consent_id: str | None) -> list[str]:
    """The deny-list entries the gateway checks for a grant's tokens: the grant, and its Open Banking consent."""
    return [grant_denial(grant_id)] + ([consent_denial(consent_id)] if consent_id else [])


@dataclass(frozen=True, slots=True)
class GrantRecord:
    """A grant as the token endpoint and pages read it."""

    id: uuid.UUID
    subject: uuid.UUID
    customer_id: uuid.UUID | None
    client_id: str
    scopes: tuple[str, ...]
    authorization_details: list[dict[str, Any]] | None
    consent_id: str | None
    account_ids: tuple[uuid.UUID, ...]
    status: GrantStatus
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None = None
    session_id: uuid.UUID | None = None  # a first-party grant's sign-in session

    def is_active(self, now: datetime) -> bool:
        return self.status is GrantStatus.ACTIVE and (self.expires_at is None or self.expires_at > now)

    @classmethod
    def from_model(cls, row: OAuthGrant) -> GrantRecord:
        return cls(
            id=row.id,
            subject=row.subject,
            customer_id=row.customer_id,
            client_id=row.client_id,
            scopes=tuple(row.scopes),
            authorization_details=row.authorization_details,
            consent_id=row.consent_id,
            account_ids=tuple(row.account_ids),
            status=row.status,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            session_id=row.session_id,
        )


def customer_actor(customer_id: uuid.UUID | None, subject: uuid.UUID, client_id: str) -> Actor:
    """The customer acting (approving, denying, revoking) about `client_id`, by core banking's customer id.

    Every context's audit records know a customer by that one id; `subject` (the sign-in identity) only
    stands in for a login not linked to a customer.
    """
    return Actor(ActorKind.CUSTOMER, str(customer_id or subject), client_id)


async def record_grant(
    uow: UnitOfWork,
    *,
    subject: uuid.UUID,
    customer_id: uuid.UUID | None,
    client_id: str,
    scopes: Sequence[str],
    authorization_details: list[dict[str, Any]] | None,
    consent_id: str | None,
    account_ids: Sequence[uuid.UUID],
    expires_at: datetime | None,
    session_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> GrantRecord:
    """The customer approved: store the grant, audit it, publish `grant.approved`.

    `session_id`: the sign-in session a first-party client's grant ends with; None for a TPP's.
    """
    now = now or datetime.now(UTC)
    row = OAuthGrant(
        id=uuid.uuid4(),
        subject=subject,
        customer_id=customer_id,
        client_id=client_id,
        scopes=list(scopes),
        authorization_details=authorization_details,
        consent_id=consent_id,
        account_ids=list(account_ids),
        status=GrantStatus.ACTIVE,
        created_at=now,
        expires_at=expires_at,
        session_id=session_id,
    )
    await repository.add(uow.session, row)
    record = GrantRecord.from_model(row)
    report_oauth_change(
        uow,
        topic=GRANTS_TOPIC,
        action="grant.approved",
        entity_type="oauth_grant",
        entity_id=str(record.id),
        details=_details(record),
        actor=customer_actor(customer_id, subject, client_id),
    )
    return record


def _details(record: GrantRecord) -> dict[str, Any]:
    return {
        "grant_id": str(record.id),
        "client_id": record.client_id,
        "subject": str(record.subject),
        "customer_id": None if record.customer_id is None else str(record.customer_id),
        "scope": " ".join(record.scopes),
        "consent_id": record.consent_id,
        "account_ids": [str(a) for a in record.account_ids],
        "status": record.status.value,
        "expires_at": None if record.expires_at is None else record.expires_at.isoformat(),
    }


async def get_grant(session: AsyncSession, grant_id: uuid.UUID) -> GrantRecord:
    row = await repository.get(session, grant_id)
    if row is None:
        raise InvalidGrant("the grant does not exist")
    return GrantRecord.from_model(row)


async def list_grants(session: AsyncSession, subject: uuid.UUID) -> list[GrantRecord]:
    """A customer's grants, newest first."""
    return [GrantRecord.from_model(row) for row in await repository.of_subject(session, subject)]


async def list_customer_grants(session: AsyncSession, customer_id: uuid.UUID) -> list[GrantRecord]:
    """A customer's grants by core banking's customer id (as the gateway names customers), newest first."""
    return [GrantRecord.from_model(row) for row in await repository.of_customer(session, customer_id)]


async def customer_grant(session: AsyncSession, grant_id: uuid.UUID, customer_id: uuid.UUID) -> GrantRecord:
    """One of the customer's grants; another customer's does not exist for them."""
    row = await repository.get(session, grant_id)
    if row is None or row.customer_id != customer_id:
        raise InvalidGrant("the grant does not exist")
    return GrantRecord.from_model(row)


async def revoke_grant(
    uow: UnitOfWork,
    tokens: TokenService,
    *,
    grant_id: uuid.UUID,
    subject: uuid.UUID,
    now: datetime | None = None,
) -> GrantRecord:
    """The customer withdrew the grant: its refresh tokens die now, the gateway refuses its access tokens."""
    now = now or datetime.now(UTC)
    row = await repository.get(uow.session, grant_id, for_update=True)
    if row is None or row.subject != subject:
        raise InvalidGrant("the grant does not exist")
    if row.status is GrantStatus.ACTIVE:
        actor = customer_actor(row.customer_id, subject, row.client_id)
        lifetime = tokens.config.access_token_lifetime_s
        return await _end_grant(uow, tokens.revocations, row, actor, lifetime, reason="grant_revoked", now=now)
    return GrantRecord.from_model(row)


async def end_consent_grants(
    uow: UnitOfWork,
    revocations: RevocationList,
    *,
    consent_id: str,
    client_id: str,
    actor: Actor,
    access_token_lifetime_s: int,
    reason: str,
    now: datetime | None = None,
) -> list[GrantRecord]:
    """The Open Banking consent behind grants ended in core banking (revoked, expired): they end with it, their
    refresh tokens die and the gateway refuses their access tokens. Ended already: nothing more happens.

    UK OB Read/Write Data API Profile, "Changes to an Intent's Authorized State": the states are terminal, so
    no token may be issued under the consent afterwards.
    """
    now = now or datetime.now(UTC)
    ended = []
    for row in await repository.lock_active_of_consent(uow.session, consent_id):
        if row.client_id != client_id:
            continue  # a consent is one client's; a grant naming it for another was never its grant
        ended.append(await _end_grant(uow, revocations, row, actor, access_token_lifetime_s, reason=reason, now=now))
    return ended


async def end_issued_under_sessions(
    uow: UnitOfWork,
    revocations: RevocationList,
    *,
    session_ids: Sequence[uuid.UUID],
    actor: Actor,
    now: datetime | None = None,
) -> list[GrantRecord]:
    """Sign-in sessions ended: what the bank's own apps obtained through them ends too, in this transaction.

    Their grants are revoked as a withdrawal revokes them (deny-list, tokens, `grant.revoked` with reason
    `session_ended`); the staff console's tokens, which have no grant, by their code (each access token's `jti` on
    the deny-list, refresh tokens dead); codes not yet redeemed expire. TPP grants name no session and live on.
    """
    if not session_ids:
        return []
    now = now or datetime.now(UTC)
    # Codes first: a redemption under way holds its code's row, so this waits for it and then sees its tokens.
    await codes_repository.expire_unused_codes_of_sessions(uow.session, session_ids, now)
    for code_id in await codes_repository.grantless_codes_of_sessions(uow.session, session_ids):
        await revoke_tokens(uow, revocations, actor, authorization_code_id=code_id, reason=SESSION_ENDED, now=now)
    # Every access token is issued with the configured lifetime, which is ACCESS_TOKEN_LIFETIME_S.
    return [
        await _end_grant(uow, revocations, row, actor, ACCESS_TOKEN_LIFETIME_S, reason=SESSION_ENDED, now=now)
        for row in await repository.lock_active_of_sessions(uow.session, session_ids)
    ]


async def _end_grant(
    uow: UnitOfWork,
    revocations: RevocationList,
    row: OAuthGrant,
    actor: Actor,
    access_token_lifetime_s: int,
    *,
    reason: str,
    now: datetime,
    sealed: dict[str, Any] | None = None,
) -> GrantRecord:
    """Revoke an active, locked grant and every token of it; report `grant.revoked` (`sealed`: audit record only)."""
    # Before the commit: a failed commit leaves an extra denial, never a missing one. Every access
    # token of the grant was issued by now, so it expires within a token lifetime (plus skew).
    denied_until = now + timedelta(seconds=access_token_lifetime_s + CLOCK_SKEW_S)
    await revocations.revoke(uow.session, grant_denials(row.id, row.consent_id), denied_until)
    row.status = GrantStatus.REVOKED
    row.revoked_at = now
    await uow.session.flush()
    await revoke_tokens(uow, revocations, actor, grant_id=row.id, reason=reason, now=now)
    record = GrantRecord.from_model(row)
    report_oauth_change(
        uow,
        topic=GRANTS_TOPIC,
        action=topics.GRANT_REVOKED,
        entity_type="oauth_grant",
        entity_id=str(row.id),
        details={**_details(record), "denied_until": denied_until.isoformat(), "reason": reason},
        actor=actor,
        sealed=sealed,
    )
    return record


async def withdraw_grant(
    uow: UnitOfWork,
    tokens: TokenService,
    *,
    grant_id: uuid.UUID,
    subject: uuid.UUID,
    now: datetime | None = None,
) -> GrantRecord:
    """The customer withdrew the grant: revoked here now; core banking revokes its consent from the event."""
    return await revoke_grant(uow, tokens, grant_id=grant_id, subject=subject, now=now)


async def revoke_grant_as_staff(
    uow: UnitOfWork, tokens: TokenService, *, grant_id: uuid.UUID, staff_reason: str, now: datetime | None = None
) -> GrantRecord:
    """A staff member (the unit of work's actor) revoked the grant, as its customer can: its tokens die now, core
    banking revokes its consent from the event; their reason is sealed in the audit record. Revoked already: as is.
    """
    now = now or datetime.now(UTC)
    row = await repository.get(uow.session, grant_id, for_update=True)
    if row is None:
        raise InvalidGrant("the grant does not exist")
    if row.status is not GrantStatus.ACTIVE:
        return GrantRecord.from_model(row)
    lifetime = tokens.config.access_token_lifetime_s
    sealed = {"staff_reason": staff_reason}
    return await _end_grant(
        uow, tokens.revocations, row, uow.actor, lifetime, reason=STAFF_REVOKED, now=now, sealed=sealed
    )


def grant_state(grant: GrantRecord, now: datetime) -> ConsentState:
    """Expired once its time ran out, even when its consent's expiry later ended it too; else revoked or active."""
    ended = now if grant.revoked_at is None else min(now, grant.revoked_at)
    if grant.expires_at is not None and grant.expires_at <= ended:
        return "EXPIRED"
    return "REVOKED" if grant.status is GrantStatus.REVOKED else "ACTIVE"


def record_denial(
    uow: UnitOfWork, *, subject: uuid.UUID, customer_id: uuid.UUID | None, client_id: str, consent_id: str | None
) -> None:
    """The customer refused: audit it and publish `grant.denied` (no grant is stored)."""
    report_oauth_change(
        uow,
        topic=GRANTS_TOPIC,
        action="grant.denied",
        entity_type="oauth_client",
        entity_id=client_id,
        details={"client_id": client_id, "subject": str(subject), "consent_id": consent_id},
        actor=customer_actor(customer_id, subject, client_id),
    )
