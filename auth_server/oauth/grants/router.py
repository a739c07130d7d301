"""A customer's grants: their page (which apps may act for them, a button to withdraw each), and
`GET /api/v1/consents` and `DELETE /api/v1/consents/{grant_id}` for their own apps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.authentication import authentication_url, browser_authentication
from auth_server.dependencies import UnitOfWorkDep
from auth_server.oauth.authorize.router import SCOPE_WORDS
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.errors import InvalidGrant
from auth_server.oauth.grants import service
from auth_server.oauth.grants.errors import (
    PROBLEM_RESPONSES,
    ConsentNotFound,
    GrantNotFound,
    NotACustomer,
    ProblemRoute,
)
from auth_server.oauth.grants.schemas import ConsentList, ConsentView
from auth_server.oauth.server import ServerDep
from auth_server.pages.dependencies import BrowserDep, CheckedBrowserDep
from auth_server.pages.rendering import redirect, render
from obank.database import SessionDep
from obank.principal import Principal, PrincipalDep

GRANTS_PATH = "/account/grants"
CONSENTS_PATH = "/api/v1/consents"

# Two audiences, each with its own errors: the page answers as pages, the API as problem details.
page = APIRouter(include_in_schema=False)
consents = APIRouter(prefix=CONSENTS_PATH, tags=["consents"], route_class=ProblemRoute, responses=PROBLEM_RESPONSES)


@page.get(GRANTS_PATH)
async def grants_page(request: Request, uow: UnitOfWorkDep, browser: BrowserDep) -> Response:
    """Every grant of the signed-in customer, newest first."""
    authentication = await browser_authentication(uow, request)
    if authentication is None:
        return redirect(authentication_url(GRANTS_PATH, require_sca=False, fresh=False))
    rows = []
    now = datetime.now(UTC)
    for grant in await service.list_grants(uow.session, authentication.subject):
        client = await clients_service.find_client(uow.session, grant.client_id)
        rows.append(
            {
                "id": str(grant.id),
                "client_name": client.client_name if client is not None else grant.client_id,
                "scopes": [SCOPE_WORDS.get(scope, scope) for scope in grant.scopes if scope != "openid"],
                "created": grant.created_at.strftime("%d %B %Y"),
                "expires": None if grant.expires_at is None else grant.expires_at.strftime("%d %B %Y"),
                "state": service.grant_state(grant, now),
            }
        )
    context = {"title": "Apps with access to your account", "grants": rows}
    return render(request, browser, uow.keyring, "grants.html", context)


@page.post(GRANTS_PATH + "/{grant_id}/revoke")
async def revoke(
    request: Request, grant_id: uuid.UUID, uow: UnitOfWorkDep, server: ServerDep, browser: CheckedBrowserDep
) -> Response:
    """Withdraw a grant: its tokens die now, and an account access consent behind it is revoked too."""
    authentication = await browser_authentication(uow, request)
    if authentication is None:
        return redirect(authentication_url(GRANTS_PATH, require_sca=False, fresh=False))
    try:
        await service.withdraw_grant(uow, server.tokens, grant_id=grant_id, subject=authentication.subject)
    except InvalidGrant as exc:
        raise GrantNotFound() from exc
    return redirect(GRANTS_PATH, browser)


def _customer(principal: Principal) -> uuid.UUID:
    """The calling customer's id in core banking (the gateway's principal subject); staff and clients have none."""
    if principal.kind != "customer":
        raise NotACustomer(f"a {principal.kind} principal has no consents")
    try:
        return uuid.UUID(principal.subject)
    except ValueError as exc:
        raise NotACustomer("the principal names no customer") from exc


async def _client_names(session: AsyncSession, client_ids: set[str]) -> dict[str, str]:
    names = {}
    for client_id in client_ids:
        client = await clients_service.find_client(session, client_id)
        names[client_id] = client.client_name if client is not None else client_id
    return names


@consents.get("", response_model=ConsentList)
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
                status=service.grant_state(grant, now),
                created_at=grant.created_at,
                expires_at=grant.expires_at,
                revoked_at=grant.revoked_at,
            )
            for grant in grants
        ]
    )


@consents.delete("/{grant_id}", status_code=204, response_class=Response)
async def revoke_consent(grant_id: uuid.UUID, uow: UnitOfWorkDep, server: ServerDep, principal: PrincipalDep) -> None:
    """Withdraw one of the customer's grants: refresh tokens die now, the gateway refuses its access tokens."""
    customer_id = _customer(principal)
    try:
        grant = await service.customer_grant(uow.session, grant_id, customer_id)
        await service.withdraw_grant(uow, server.tokens, grant_id=grant_id, subject=grant.subject)
    except InvalidGrant as exc:
        raise ConsentNotFound(f"no consent {grant_id}") from exc


router = APIRouter()
router.include_router(page)
router.include_router(consents)
