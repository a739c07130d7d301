"""The customer's grants page: which apps may act for them, and a button to withdraw each."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from auth_server.authentication import authentication_url, browser_authentication
from auth_server.errors import AuthError
from auth_server.oauth.authorize.router import SCOPE_WORDS
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.errors import InvalidGrant
from auth_server.oauth.grants import service
from auth_server.oauth.grants.models import GrantStatus
from auth_server.oauth.server import ServerDep
from auth_server.pages.dependencies import BrowserDep, CheckedBrowserDep
from auth_server.pages.rendering import redirect, render
from obank.database import SessionDep
from obank.runtime import KeyRingDep

GRANTS_PATH = "/account/grants"

router = APIRouter(include_in_schema=False)


class GrantNotFound(AuthError):
    status = 404
    code = "grant_not_found"
    title = "There is no such permission on your account."


@router.get(GRANTS_PATH)
async def grants_page(request: Request, session: SessionDep, browser: BrowserDep, keyring: KeyRingDep) -> Response:
    """Every grant of the signed-in customer, newest first."""
    authentication = await browser_authentication(session, keyring, request)
    if authentication is None:
        return redirect(authentication_url(GRANTS_PATH, require_sca=False, fresh=False))
    rows = []
    for grant in await service.list_grants(session, authentication.subject):
        client = await clients_service.find_client(session, grant.client_id)
        rows.append(
            {
                "id": str(grant.id),
                "client_name": client.client_name if client is not None else grant.client_id,
                "scopes": [SCOPE_WORDS.get(scope, scope) for scope in grant.scopes if scope != "openid"],
                "created": grant.created_at.strftime("%d %B %Y"),
                "expires": None if grant.expires_at is None else grant.expires_at.strftime("%d %B %Y"),
                "active": grant.status is GrantStatus.ACTIVE,
            }
        )
    context = {"title": "Apps with access to your account", "grants": rows}
    return render(request, browser, keyring, "grants.html", context)


@router.post(GRANTS_PATH + "/{grant_id}/revoke")
async def revoke(
    request: Request,
    grant_id: uuid.UUID,
    session: SessionDep,
    server: ServerDep,
    browser: CheckedBrowserDep,
    keyring: KeyRingDep,
) -> Response:
    """Withdraw a grant: its tokens die now, and an account access consent behind it is revoked too."""
    authentication = await browser_authentication(session, keyring, request)
    if authentication is None:
        return redirect(authentication_url(GRANTS_PATH, require_sca=False, fresh=False))
    try:
        await service.withdraw_grant(
            session,
            server.tokens,
            grant_id=grant_id,
            subject=authentication.subject,
        )
    except InvalidGrant as exc:
        raise GrantNotFound() from exc
    return redirect(GRANTS_PATH, browser)
