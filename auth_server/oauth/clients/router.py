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

ADMIN_ROLE = "admin"


async def _admin(principal: PrincipalDep) -> Principal:
    if principal.kind != "staff" or ADMIN_ROLE not in principal.roles:
        raise Forbidden("managing OAuth clients needs a staff member with the admin role")
    return principal


Admin = Annotated[Principal, Depends(_admin)]
router = APIRouter(prefix=ADMIN_CLIENTS_PATH, tags=["admin: oauth clients"])


@router.get("", response_model=list[ClientView])
async def list_clients(session: SessionDep, _admin: Admin) -> list[ClientView]:
    return [ClientView.of(c) for c in await service.list_clients(session)]


@router.post("", status_code=201, response_model=ClientView)
async def register_client(session: SessionDep, server: ServerDep, admin: Admin, body: AdminClientCreate) -> ClientView:
    metadata = ClientMetadata.model_validate(body.model_dump(exclude={"client_id", "first_party"}))
    record = await service.register_client(
        session, server.keyring, Actor.staff(admin), metadata, client_id=body.client_id, first_party=body.first_party
    )
    return ClientView.of(record)


@router.post("/initial-access-tokens", status_code=201, response_model=InitialAccessTokenView)
async def create_initial_access_token(session: SessionDep, server: ServerDep, admin: Admin) -> InitialAccessTokenView:
    """A single-use token a TPP presents to register itself at the registration endpoint (RFC 7591 s3)."""
    token, expires_at = await registration_service.create_initial_access_token(
        session, server.keyring, Actor.staff(admin)
    )
    return InitialAccessTokenView(initial_access_token=token, expires_at=expires_at)


@router.get("/{client_id}", response_model=ClientView)
async def get_client(session: SessionDep, _admin: Admin, client_id: str) -> ClientView:
    return ClientView.of(await service.get_client(session, client_id))


@router.put("/{client_id}", response_model=ClientView)
async def update_client(
    session: SessionDep, server: ServerDep, admin: Admin, client_id: str, body: ClientMetadata
) -> ClientView:
    server.clients.forget(client_id)
    return ClientView.of(await service.update_client(session, server.keyring, Actor.staff(admin), client_id, body))


@router.post("/{client_id}/disable", response_model=ClientView)
async def disable_client(session: SessionDep, server: ServerDep, admin: Admin, client_id: str) -> ClientView:
    server.clients.forget(client_id)
    record = await service.set_client_status(
        session, server.keyring, Actor.staff(admin), client_id, ClientStatus.DISABLED
    )
    return ClientView.of(record)


@router.post("/{client_id}/enable", response_model=ClientView)
async def enable_client(session: SessionDep, server: ServerDep, admin: Admin, client_id: str) -> ClientView:
    actor = Actor.staff(admin)
    server.clients.forget(client_id)
    record = await service.set_client_status(session, server.keyring, actor, client_id, ClientStatus.ACTIVE)
    return ClientView.of(record)
