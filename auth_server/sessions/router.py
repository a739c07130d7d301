"""The customer's own sign-in sessions, `/api/v1/sessions`: list them, sign one out, or sign out everywhere else.

For the customer's first-party app (an `openid` token, checked by the gateway's policy and again here); failures
are RFC 9457 problem details.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.dependencies import RevocationsDep
from auth_server.errors import ProblemRoute
from auth_server.identities import service as identities_service
from auth_server.identities.schemas import IdentityRecord
from auth_server.oauth.grants import repository as grants_repository
from auth_server.oauth.tokens import repository as tokens_repository
from auth_server.sessions import service
from auth_server.sessions.errors import CustomerSessionNotFound, NotACustomer
from auth_server.sessions.schemas import (
    CustomerSessionList,
    CustomerSessionView,
    OtherSessionsEnded,
    SessionRecord,
    SessionView,
)
from obank.actor import Actor
from obank.database import SessionDep
from obank.principal import Principal, PrincipalDep
from obank.problems import problem_responses
from obank.unit_of_work import UnitOfWork, request_unit_of_work

SESSIONS_PATH = "/api/v1/sessions"
FIRST_PARTY_SCOPE = "openid"

router = APIRouter(
    prefix=SESSIONS_PATH,
    tags=["sessions"],
    route_class=ProblemRoute,
    responses=problem_responses(
        (
            (401, "No valid principal assertion"),
            (403, "The principal is not a customer with an `openid` token"),
            (422, "Invalid request, naming the field"),
        )
    ),
)


async def _customer(principal: PrincipalDep) -> Principal:
    if principal.kind != "customer":
        raise NotACustomer(f"a {principal.kind} principal has no sign-in sessions here")
    if FIRST_PARTY_SCOPE not in principal.scopes:
        raise NotACustomer("the sessions API needs a token with the openid scope")
    return principal


Customer = Annotated[Principal, Depends(_customer)]


async def _customer_actor(customer: Customer) -> Actor:
    return Actor.from_principal(customer)


# The request's transaction, acting as the customer; committed before the response is sent.
CustomerUnitOfWork = Annotated[UnitOfWork, Depends(request_unit_of_work(_customer_actor), scope="function")]
SessionId = Annotated[uuid.UUID, Path(description="The sign-in session's id")]


def _customer_id(customer: Principal) -> uuid.UUID:
    """The customer's id in core banking: the subject the gateway names customers by."""
    try:
        return uuid.UUID(customer.subject)
    except ValueError as exc:
        raise NotACustomer("the principal names no customer") from exc


async def _login(session: AsyncSession, customer: Principal) -> IdentityRecord | None:
    return await identities_service.find_by_customer(session, _customer_id(customer))


async def _current_session_id(
    session: AsyncSession, customer: Principal, login: IdentityRecord, live: list[SessionRecord]
) -> uuid.UUID | None:
    """The live sign-in session the caller's token was issued under, when it can be told.

    The assertion's `sid` when the gateway forwards one; else the session the token's grant was approved in; else
    the session whose sign-in the token's own row records: a token keeps its session's `auth_time` (stored to the
    microsecond) through every refresh, so its identity and that instant name one session. A session strengthened
    since (a step-up) is not recognised that way.
    """
    if customer.session_id is not None:
        named = _as_uuid(customer.session_id)
        return named if any(record.id == named for record in live) else None
    grant_id = _as_uuid(customer.grant_id)
    grant = None if grant_id is None else await grants_repository.get(session, grant_id)
    if grant is not None and grant.subject == login.id and any(record.id == grant.session_id for record in live):
        return grant.session_id
    jti = _as_uuid(customer.token_id)
    token = None if jti is None else await tokens_repository.get(session, jti)
    if token is None or token.subject != str(login.id) or token.auth_time is None:
        return None
    matching = [record.id for record in live if record.auth_time == token.auth_time]
    return matching[0] if len(matching) == 1 else None


def _as_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return None if value is None else uuid.UUID(value)
    except ValueError:
        return None


@router.get("")
async def list_sessions(customer: Customer, session: SessionDep) -> CustomerSessionList:
    """The customer's live sign-in sessions, newest first; `current` marks the one behind this request's token."""
    login = await _login(session, customer)
    if login is None:
        return CustomerSessionList(sessions=[])
    live = await service.list_live_sessions(session, login.id)
    current = await _current_session_id(session, customer, login, live)
    return CustomerSessionList(
        sessions=[
            CustomerSessionView(**SessionView.of(record).model_dump(), current=record.id == current) for record in live
        ]
    )


@router.delete(
    "/{session_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(((404, "No live session of this customer has this id"),)),
)
async def end_session(
    session_id: SessionId, customer: Customer, uow: CustomerUnitOfWork, revocations: RevocationsDep
) -> None:
    """Sign one of the customer's live sessions out (another device's, or this one's); another's is not found.
    The bank's own apps signed in through it are signed out too: their grant and tokens are revoked."""
    login = await _login(uow.session, customer)
    if login is None:
        raise CustomerSessionNotFound()
    await service.end_own_session(
        uow, revocations=revocations, identity_id=login.id, customer_id=_customer_id(customer), session_id=session_id
    )


@router.delete("")
async def end_other_sessions(
    customer: Customer, uow: CustomerUnitOfWork, revocations: RevocationsDep
) -> OtherSessionsEnded:
    """Sign out everywhere else: every live session ends but the one behind this token (every one, when that
    cannot be told: `current_session_id` is then null), and the bank's own apps signed in through them with it.
    Apps the customer connected (TPPs) keep their access."""
    login = await _login(uow.session, customer)
    if login is None:
        return OtherSessionsEnded(sessions_ended=0, current_session_id=None)
    now = datetime.now(UTC)
    live = await service.list_live_sessions(uow.session, login.id, now=now)
    current = await _current_session_id(uow.session, customer, login, live)
    ended = await service.end_other_sessions(
        uow, revocations=revocations, identity_id=login.id, customer_id=_customer_id(customer), keep=current, now=now
    )
    return OtherSessionsEnded(sessions_ended=ended, current_session_id=current)
