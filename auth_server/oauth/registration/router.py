"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from auth_server.dependencies import UnitOfWorkDep
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.clients.models import ClientStatus
from auth_server.oauth.clients.schemas import ClientMetadata, ClientRecord
from auth_server.oauth.config import REGISTRATION_PATH
from auth_server.oauth.errors import ERROR_RESPONSES, NO_STORE, InvalidClientMetadata
from auth_server.oauth.registration import service
from auth_server.oauth.registration.schemas import client_information
from auth_server.oauth.server import OAuthServer, ServerDep
from obank.actor import Actor
from obank.unit_of_work import UnitOfWork, request_unit_of_work

router = APIRouter(prefix=REGISTRATION_PATH, tags=["oauth: dynamic registration"])


async def _registered_client(client_id: str) -> Actor:
    return Actor.client(client_id)


# The request's transaction, acting as the client the path names (RFC 7592: a client manages itself).
ClientUnitOfWork = Annotated[UnitOfWork, Depends(request_unit_of_work(_registered_client), scope="function")]


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


async def _metadata(request: Request) -> ClientMetadata:
    try:
        body = await request.json()
    except ValueError as exc:
        raise InvalidClientMetadata("the body must be a JSON object of client metadata") from exc
    if not isinstance(body, dict):
        raise InvalidClientMetadata("the body must be a JSON object of client metadata")
    try:
        return ClientMetadata.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InvalidClientMetadata(problems) from exc


def _information(server: OAuthServer, record: ClientRecord, token: str | None, status: int = 200) -> JSONResponse:
    client_uri = server.config.url(f"{REGISTRATION_PATH}/{record.client_id}")
    return JSONResponse(client_information(record, client_uri, token), status_code=status, headers=NO_STORE)


@router.post("", status_code=201, responses=ERROR_RESPONSES)
async def register(request: Request, uow: UnitOfWorkDep, server: ServerDep) -> JSONResponse:
    """RFC 7591 s3.1: confidential TPP clients only, admitted by a single-use initial access token."""
    metadata = await _metadata(request)
    record, token = await service.register_dynamic_client(uow, _bearer(request), metadata)
    return _information(server, record, token, status=201)


@router.get("/{client_id}", responses=ERROR_RESPONSES)
async def read_registration(request: Request, uow: UnitOfWorkDep, server: ServerDep, client_id: str) -> JSONResponse:
    """RFC 7592 s2.1."""
    record = await service.client_for_registration_token(uow, client_id, _bearer(request))
    return _information(server, record, None)


@router.put("/{client_id}", responses=ERROR_RESPONSES)
async def update_registration(
    request: Request, uow: ClientUnitOfWork, server: ServerDep, client_id: str
) -> JSONResponse:
    """RFC 7592 s2.2: the whole metadata is replaced; the body names the same client_id."""
    await service.client_for_registration_token(uow, client_id, _bearer(request))
    body = await request.json()
    if not isinstance(body, dict) or body.get("client_id") != client_id:
        raise InvalidClientMetadata("the body must carry this client's client_id")
    metadata = await _metadata(request)
    server.clients.forget(client_id)
    record = await clients_service.update_client(uow, client_id, metadata)
    return _information(server, record, None)


@router.delete("/{client_id}", status_code=204, responses=ERROR_RESPONSES)
async def delete_registration(request: Request, uow: ClientUnitOfWork, server: ServerDep, client_id: str) -> Response:
    """RFC 7592 s2.3: the client is disabled and its registration access token stops working."""
    await service.client_for_registration_token(uow, client_id, _bearer(request))
    server.clients.forget(client_id)
    await clients_service.set_client_status(uow, client_id, ClientStatus.DISABLED)
    return Response(status_code=204, headers=NO_STORE)
