"""`GET /api/v1/consents` and `DELETE /api/v1/consents/{grant_id}`: a customer's grants, for their own apps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.errors import InvalidGrant
from auth_server.oauth.grants import service
from auth_server.oauth.grants.errors import PROBLEM_RESPONSES, ConsentNotFound, NotACustomer, ProblemRoute
from auth_server.oauth.grants.models import GrantStatus
from auth_server.oauth.grants.schemas import ConsentList, ConsentState, ConsentView
from auth_server.oauth.server import ServerDep
from obank.database import SessionDep
from obank.principal import Principal, PrincipalDep

CONSENTS_PATH = "/api/v1/consents"

router = APIRouter(prefix=CONSENTS_PATH, tags=["consents"], route_class=ProblemRoute, responses=PROBLEM_RESPONSES)


def _customer(principal: Principal) -> uuid.UUID:
    """The calling customer's id in core banking (the gateway's principal subject); staff and clients have none."""
    if principal.kind != "customer":
        raise NotACustomer(f"a {principal.kind} principal has no consents")
    try:
        return uuid.UUID(principal.subject)
    except ValueError as exc:
        raise NotACustomer("the principal names no customer") from exc


def _state(grant: service.GrantRecord, now: datetime) -> ConsentState:
    if grant.status is GrantStatus.REVOKED:
        return "REVOKED"
    return "ACTIVE" if grant.is_active(now) else "EXPIRED"


async def _client_names(session: AsyncSession, client_ids: set[str]) -> dict[str, str]:
    names = {}
    for client_id in client_ids:
        client = await clients_service.find_client(session, client_id)
        names[client_id] = client.client_name if client is not None else client_id
    return names


@router.get("", response_model=ConsentList)
async def list_consents(session: SessionDep, principal: PrincipalDep) -> ConsentList:
    """Every grant of the calling customer, newest first, whatever its state."""
    grants = await service.list_customer_grants(session, _customer(principal))
    names = await _client_names(session, {grant.client_id for grant in grants})
    now = datetime.now(UTC)
    return ConsentList(
        consents=[
            ConsentView(
                grant_id=grant.id,
                client_id=grant.client_id,
                client_name=names[grant.client_id],
                scopes=list(grant.scopes),
                authorization_details=grant.authorization_details,
                consent_id=grant.consent_id,
                account_ids=list(grant.account_ids),
                status=_state(grant, now),
                created_at=grant.created_at,
                expires_at=grant.expires_at,
                revoked_at=grant.revoked_at,
            )
            for grant in grants
        ]
    )


@router.delete("/{grant_id}", status_code=204, response_class=Response)
async def revoke_consent(grant_id: uuid.UUID, session: SessionDep, server: ServerDep, principal: PrincipalDep) -> None:
    """Withdraw one of the customer's grants: refresh tokens die now, the gateway refuses its access tokens."""
    customer_id = _customer(principal)
    try:
        grant = await service.customer_grant(session, grant_id, customer_id)
        await service.withdraw_grant(session, server.tokens, grant_id=grant_id, subject=grant.subject)
    except InvalidGrant as exc:
        raise ConsentNotFound(f"no consent {grant_id}") from exc
