"""Bank staff's API over logins and customers' grants: `/admin/v1/identities` (a login, its sessions, its lockout,
its TOTP) and `/admin/v1/grants` (a customer's grants, revoked as the customer would). Reads for support, fraud
analysts, auditors and admins; changes for support, fraud analysts and admins, each with a reason (audited, sealed).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from auth_server.dependencies import RevocationsDep
from auth_server.errors import ProblemRoute
from auth_server.oauth.server import ServerDep
from auth_server.sessions.schemas import SessionView
from auth_server.staff_admin import service
from auth_server.staff_admin.auth import Caseworker, CaseworkerUnitOfWork, Investigator
from auth_server.staff_admin.errors import IdentityLookupInvalid
from auth_server.staff_admin.schemas import (
    USERNAME_MAX,
    GrantList,
    GrantView,
    IdentityList,
    IdentitySessionList,
    IdentityView,
    ReasonBody,
    SessionsRevokedView,
    TotpResetView,
)
from obank.approvals import service as approvals
from obank.approvals.http import APPROVAL_RESPONSES, ApprovalIdHeader, pending_response
from obank.database import SessionDep
from obank.problems import problem_responses
from obank.runtime import KeyRingDep

IDENTITIES_PATH = "/admin/v1/identities"
GRANTS_PATH = "/admin/v1/grants"
TOTP_RESET_APPROVAL = "auth_server.identity.totp_reset"

_RESPONSES = problem_responses(
    (
        (401, "No valid principal assertion"),
        (403, "The principal is not a staff member with a role this operation allows"),
        (422, "Invalid request, naming the field"),
    )
)
_IDENTITY_NOT_FOUND = problem_responses(((404, "No such login"),))
_NOT_LOCKED = problem_responses(((404, "No such login"), (409, "The login is not locked")))
_GRANT_NOT_FOUND = problem_responses(((404, "No such grant"),))

identities = APIRouter(
    prefix=IDENTITIES_PATH, tags=["admin: identities"], route_class=ProblemRoute, responses=_RESPONSES
)
grants = APIRouter(prefix=GRANTS_PATH, tags=["admin: grants"], route_class=ProblemRoute, responses=_RESPONSES)

IdentityId = Annotated[uuid.UUID, Path(description="The login's id (the `sub` of its tokens)")]
GrantId = Annotated[uuid.UUID, Path(description="The grant's id")]


@identities.get("")
async def find_identities(
    _staff: Investigator,
    session: SessionDep,
    keyring: KeyRingDep,
    customer_id: Annotated[uuid.UUID | None, Query(description="Core banking's id of the customer")] = None,
    username: Annotated[
        str | None,
        Query(min_length=1, max_length=USERNAME_MAX, description="A username, found by its keyed hash as sign-in does"),
    ] = None,
) -> IdentityList:
    """The login of a customer, or the logins holding a username (one of each kind at most): exactly one of
    `customer_id` and `username`. Nothing found is an empty list."""
    if (customer_id is None) == (username is None):
        raise IdentityLookupInvalid("give exactly one of customer_id and username")
    found = await service.find_identities(session, keyring, customer_id=customer_id, username=username)
    now = datetime.now(UTC)
    return IdentityList(identities=[IdentityView.of(detail, now) for detail in found])


@identities.get("/{identity_id}", responses=_IDENTITY_NOT_FOUND)
async def get_identity(identity_id: IdentityId, _staff: Investigator, session: SessionDep) -> IdentityView:
    """A login: its kind, state (active, locked and why, disabled), second factors, creation and last sign-in."""
    return IdentityView.of(await service.get_identity(session, identity_id), datetime.now(UTC))


@identities.get("/{identity_id}/sessions", responses=_IDENTITY_NOT_FOUND)
async def list_identity_sessions(
    identity_id: IdentityId, _staff: Investigator, session: SessionDep
) -> IdentitySessionList:
    """The login's live sign-in sessions, newest first (signed in, or part way through signing in)."""
    records = await service.list_identity_sessions(session, identity_id)
    return IdentitySessionList(identity_id=identity_id, sessions=[SessionView.of(record) for record in records])


@identities.post("/{identity_id}/sessions/revocation", responses=_IDENTITY_NOT_FOUND)
async def revoke_identity_sessions(
    identity_id: IdentityId,
    body: ReasonBody,
    _staff: Caseworker,
    uow: CaseworkerUnitOfWork,
    revocations: RevocationsDep,
) -> SessionsRevokedView:
    """End every session of the login (`identity.sessions_revoked`); with none live, `sessions_ended` is 0. The
    bank's own apps signed in through them are signed out too (their grants, the staff console's tokens, revoked);
    the customer's grants to TPPs live on (revoke them under `/admin/v1/grants`)."""
    return SessionsRevokedView.of(await service.revoke_sessions(uow, revocations, identity_id, body.reason))


@identities.post("/{identity_id}/unlock", responses=_NOT_LOCKED)
async def unlock_identity(
    identity_id: IdentityId, body: ReasonBody, _staff: Caseworker, uow: CaseworkerUnitOfWork
) -> IdentityView:
    """Lift the login's lockout, after failed attempts or a blocked risky sign-in (`identity.unlocked`), and clear
    its failure count; one not locked is a 409 and changes nothing."""
    detail = await service.unlock_identity(uow, identity_id, body.reason)
    return IdentityView.of(detail, datetime.now(UTC))


@identities.post("/{identity_id}/totp-reset", response_model=TotpResetView, responses=APPROVAL_RESPONSES)
async def reset_identity_totp(
    request: Request,
    identity_id: IdentityId,
    body: ReasonBody,
    staff: Caseworker,
    uow: CaseworkerUnitOfWork,
    revocations: RevocationsDep,
    approval_id: ApprovalIdHeader = None,
) -> TotpResetView | JSONResponse:
    """Reset the login's second factor: its TOTP secret and recovery codes are forgotten and its sessions end with
    what the bank's own apps obtained through them (`mfa.reset`), so its next sign-in needing one enrols a new TOTP.
    Four eyes: the first call is held (202, an approval); a second staff member repeats it with `Obank-Approval-Id`
    and the same body to carry it out."""
    await service.check_totp_resettable(uow, identity_id)
    pending = await approvals.require_approval(
        uow,
        staff=staff,
        kind=TOTP_RESET_APPROVAL,
        target=str(identity_id),
        method=request.method,
        path=request.url.path,
        params=body.model_dump(),
        approval_id=approval_id,
    )
    if pending is not None:
        return pending_response(pending)
    return TotpResetView.of(await service.reset_totp(uow, revocations, identity_id, body.reason))


@grants.get("")
async def list_customer_grants(
    _staff: Investigator,
    session: SessionDep,
    customer_id: Annotated[uuid.UUID, Query(description="Core banking's id of the customer")],
) -> GrantList:
    """Every grant of the customer, to the bank's own apps and to TPPs, newest first, whatever its state."""
    details = await service.list_customer_grants(session, customer_id)
    now = datetime.now(UTC)
    return GrantList(customer_id=customer_id, grants=[GrantView.of(detail, now) for detail in details])


@grants.post("/{grant_id}/revocation", responses=_GRANT_NOT_FOUND)
async def revoke_grant(
    grant_id: GrantId, body: ReasonBody, _staff: Caseworker, uow: CaseworkerUnitOfWork, server: ServerDep
) -> GrantView:
    """Revoke a customer's grant exactly as their own withdrawal does: its tokens die now, the gateway refuses
    them, `grant.revoked` has core banking revoke its consent; audited as the staff member. Revoking a revoked
    grant answers 200 with it as it stands and records nothing."""
    detail = await service.revoke_grant(uow, server.tokens, grant_id, body.reason)
    return GrantView.of(detail, datetime.now(UTC))


router = APIRouter()
router.include_router(identities)
router.include_router(grants)
