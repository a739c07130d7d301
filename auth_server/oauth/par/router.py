"""The pushed authorization request endpoint (RFC 9126 s2)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from auth_server.dependencies import UnitOfWorkDep
from auth_server.oauth.config import PAR_PATH
from auth_server.oauth.errors import ERROR_RESPONSES, NO_STORE
from auth_server.oauth.forms import CertificateDep, FormDep
from auth_server.oauth.par import service
from auth_server.oauth.par.schemas import PushedAuthorizationResponse
from auth_server.oauth.server import ServerDep

router = APIRouter(tags=["oauth"])


@router.post(PAR_PATH, status_code=201, response_model=PushedAuthorizationResponse, responses=ERROR_RESPONSES)
async def push_authorization_request(
    uow: UnitOfWorkDep, server: ServerDep, form: FormDep, certificate: CertificateDep
) -> JSONResponse:
    """Authenticate the client, validate the whole authorization request, answer with its request_uri."""
    caller = await server.authenticator.authenticate(uow.session, form, certificate)
    request_uri, expires_in = await service.push_authorization_request(
        uow, server.config, server.core_banking, caller, form
    )
    body = PushedAuthorizationResponse(request_uri=request_uri, expires_in=expires_in)
    return JSONResponse(body.model_dump(), status_code=201, headers=NO_STORE)
