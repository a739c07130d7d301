"""Token (RFC 6749 s3.2), introspection (RFC 7662) and revocation (RFC 7009) endpoints."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from auth_server.dependencies import AUTH_SERVER, UnitOfWorkDep
from auth_server.oauth.config import INTROSPECTION_PATH, REVOCATION_PATH, TOKEN_PATH
from auth_server.oauth.errors import ERROR_RESPONSES, NO_STORE, InvalidClient, InvalidRequest, UnsupportedGrantType
from auth_server.oauth.forms import CertificateDep, FormDep, read_form
from auth_server.oauth.server import OAuthServer, ServerDep
from auth_server.oauth.tokens.schemas import TokenResponse
from obank.database import SessionDep
from obank.server import client_certificate
from obank.unit_of_work import UnitsOfWork

router = APIRouter(tags=["oauth"])


@router.post(TOKEN_PATH, response_model=TokenResponse, responses=ERROR_RESPONSES)
async def token(request: Request) -> JSONResponse:
    """Authenticate the client, then run its grant; the response is never cached (RFC 6749 s5.1).

    The busiest route of the authorization server takes the request alone: what the dependencies of the
    other endpoints give (the form, the certificate, the server, a unit of work committed before the
    response) is read and opened here, without FastAPI's dependency solving (a profiled tenth of a token).
    """
    form = await read_form(request)
    certificate = client_certificate(request.scope)
    server: OAuthServer = request.app.state.oauth
    units: UnitsOfWork = request.app.state.units
    async with units.begin(AUTH_SERVER) as uow:
        caller = await server.authenticator.authenticate(uow.session, form, certificate)
        grant_type = form.get("grant_type")
        if grant_type is None:
            raise InvalidRequest("grant_type is required")
        handler = server.grant_handlers.get(grant_type)
        if handler is None:
            raise UnsupportedGrantType(f"grant_type {grant_type} is not supported")
        response = await handler(uow, server, caller, form)
    return JSONResponse(response.model_dump(exclude_none=True), headers=NO_STORE)


@router.post(INTROSPECTION_PATH, response_model=dict[str, Any], responses=ERROR_RESPONSES)
async def introspect(
    session: SessionDep, server: ServerDep, form: FormDep, certificate: CertificateDep
) -> JSONResponse:
    """RFC 7662 s2: confidential clients only, and each sees only the tokens issued to it."""
    caller = await server.authenticator.authenticate(session, form, certificate)
    if not caller.client.is_confidential:
        raise InvalidClient("introspection is for confidential clients")
    token_value = form.get("token")
    if token_value is None:
        raise InvalidRequest("token is required")
    return JSONResponse(await server.tokens.introspect(session, caller, token_value), headers=NO_STORE)


@router.post(REVOCATION_PATH, responses=ERROR_RESPONSES)
async def revoke(uow: UnitOfWorkDep, server: ServerDep, form: FormDep, certificate: CertificateDep) -> Response:
    """RFC 7009 s2: 200 whether or not the token was known; the gateway learns of revocations by event."""
    caller = await server.authenticator.authenticate(uow.session, form, certificate)
    token_value = form.get("token")
    if token_value is None:
        raise InvalidRequest("token is required")
    await server.tokens.revoke(uow, caller, token_value)
    return Response(status_code=200, headers=NO_STORE)
