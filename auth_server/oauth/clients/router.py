"""Admin API for the client registry: bank staff with the admin role, through the gateway's assertion."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from auth_server.oauth.clients import service
from auth_server.oauth.clients.models import ClientStatus
from auth_server.oauth.clients.schemas import AdminClientCreate, ClientMetadata, ClientView
from auth_server.oauth.config import ADMIN_CLIENTS_PATH
from auth_server.oauth.errors import Forbidden
from auth_server.oauth.registration import service as registration_service
from auth_server.oauth.registration.schemas import InitialAccessTokenView
from auth_server.oauth.server import ServerDep
from obank.actor import Actor
from obank.database import SessionDep
from obank.principal import Principal, PrincipalDep
from obank.problems import problem_responses
from obank.unit_of_work import UnitOfWork, request_unit_of_work

ADMIN_ROLE = "admin"


async def _admin(principal: PrincipalDep) -> Principal:
    if principal.kind != "staff" or ADMIN_ROLE not in principal.roles:
        raise Forbidden("managing OAuth clients needs a staff member with the admin role")
    return principal


Admin = Annotated[Principal, Depends(_admin)]


async def _admin_actor(admin: Admin) -> Actor:
    return Actor.staff(admin)


# The request's transaction, acting as the admin; committed before the response is sent.
AdminUnitOfWork = Annotated[UnitOfWork, Depends(request_unit_of_work(_admin_actor), scope="function")]
# Errors are problem details (`auth_server.oauth.app`): the code is RFC 7591's where the metadata is refused.
_RESPONSES = problem_responses(
    (
        (400, "Metadata outside the FAPI 2.0 profile (code `invalid_client_metadata`, `invalid_redirect_uri`)"),
        (403, "Not a staff member with the admin role"),
        (404, "No such client"),
    )
)
router = APIRouter(prefix=ADMIN_CLIENTS_PATH, tags=["admin: oauth clients"], responses=_RESPONSES)


@router.get("", response_model=list[ClientView])
async def list_clients(session: SessionDep, _admin: Admin) -> list[ClientView]:
    return [ClientView.of(c) for c in await service.list_clients(session)]


@router.post("", status_code=201, response_model=ClientView)
async def register_client(uow: AdminUnitOfWork, body: AdminClientCreate) -> ClientView:
    metadata = ClientMetadata.model_validate(body.model_dump(exclude={"client_id", "first_party"}))
    record = await service.register_client(uow, metadata, client_id=body.client_id, first_party=body.first_party)
    return ClientView.of(record)


@router.post("/initial-access-tokens", status_code=201, response_model=InitialAccessTokenView)
async def create_initial_access_token(uow: AdminUnitOfWork) -> InitialAccessTokenView:
    """A single-use token a TPP presents to register itself at the registration endpoint (RFC 7591 s3)."""
    token, expires_at = await registration_service.create_initial_access_token(uow)
    return InitialAccessTokenView(initial_access_token=token, expires_at=expires_at)


@router.get("/{client_id}", response_model=ClientView)
async def get_client(session: SessionDep, _admin: Admin, client_id: str) -> ClientView:
    return ClientView.of(await service.get_client(session, client_id))


@router.put("/{client_id}", response_model=ClientView)
async def update_client(uow: AdminUnitOfWork, server: ServerDep, client_id: str, body: ClientMetadata) -> ClientView:
    server.clients.forget(client_id)
    return ClientView.of(await service.update_client(uow, client_id, body))


@router.post("/{client_id}/disable", response_model=ClientView)
async def disable_client(uow: AdminUnitOfWork, server: ServerDep, client_id: str) -> ClientView:
    server.clients.forget(client_id)
    return ClientView.of(await service.set_client_status(uow, client_id, ClientStatus.DISABLED))


@router.post("/{client_id}/enable", response_model=ClientView)
async def enable_client(uow: AdminUnitOfWork, server: ServerDep, client_id: str) -> ClientView:
    server.clients.forget(client_id)
    return ClientView.of(await service.set_client_status(uow, client_id, ClientStatus.ACTIVE))
