"""Dynamic registration: initial access tokens admit a TPP (RFC 7591 s3), registration tokens manage it (RFC 7592)."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.clients.models import ClientStatus, RegistrationSource
from auth_server.oauth.clients.schemas import ClientMetadata, ClientRecord
from auth_server.oauth.config import INITIAL_ACCESS_TOKEN_LIFETIME_S
from auth_server.oauth.errors import InvalidToken
from auth_server.oauth.events import CLIENTS_TOPIC, report_oauth_change
from auth_server.oauth.registration import repository
from auth_server.oauth.registration.models import InitialAccessToken
from obank.actor import Actor
from obank.crypto import lookup_hashes
from obank.unit_of_work import UnitOfWork

INITIAL_TOKEN_PREFIX = "obiat_"  # noqa: S105
REGISTRATION_TOKEN_PREFIX = "obrat_"  # noqa: S105
INITIAL_TOKEN_PURPOSE = "oauth-initial-access-token"  # noqa: S105
REGISTRATION_TOKEN_PURPOSE = "oauth-registration-access-token"  # noqa: S105


async def create_initial_access_token(
    uow: UnitOfWork,
    *,
    lifetime: timedelta = timedelta(seconds=INITIAL_ACCESS_TOKEN_LIFETIME_S),
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """A single-use initial access token for dynamic registration (RFC 7591 s3); shown once."""
    now = now or datetime.now(UTC)
    token = INITIAL_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = InitialAccessToken(
        id=uuid.uuid4(),
        token_hash=uow.keyring.keyed_hash(INITIAL_TOKEN_PURPOSE, token.encode()),
        created_by=uow.actor.id,
        created_at=now,
        expires_at=now + lifetime,
    )
    await repository.add_initial_access_token(uow.session, row)
    report_oauth_change(
        uow,
        topic=CLIENTS_TOPIC,
        action="initial_access_token.created",
        entity_type="initial_access_token",
        entity_id=str(row.id),
        details={"expires_at": row.expires_at.isoformat()},
    )
    return token, row.expires_at


async def register_dynamic_client(
    uow: UnitOfWork, initial_access_token: str | None, metadata: ClientMetadata, *, now: datetime | None = None
) -> tuple[ClientRecord, str]:
    """RFC 7591 s3: a TPP registers itself with an initial access token; returns its registration token."""
    now = now or datetime.now(UTC)
    session, keyring = uow.session, uow.keyring
    if not initial_access_token or not initial_access_token.startswith(INITIAL_TOKEN_PREFIX):
        raise InvalidToken("an initial access token is required")
    hashes = lookup_hashes(keyring, INITIAL_TOKEN_PURPOSE, initial_access_token.encode())
    if not await repository.use_initial_access_token(session, hashes, now):
        raise InvalidToken("the initial access token is unknown, expired or already used")
    registration_token = REGISTRATION_TOKEN_PREFIX + secrets.token_urlsafe(32)
    client_id = secrets.token_urlsafe(18)
    record = await clients_service.register_client(
        uow,
        metadata,
        client_id=client_id,
        registration=RegistrationSource.DYNAMIC,
        registration_token_hash=keyring.keyed_hash(REGISTRATION_TOKEN_PURPOSE, registration_token.encode()),
        registered_by=Actor.client(client_id),
        now=now,
    )
    await repository.record_initial_token_client(session, hashes, client_id)
    return record, registration_token


async def client_for_registration_token(
    uow: UnitOfWork, client_id: str, registration_access_token: str | None
) -> ClientRecord:
    """RFC 7592 s3: the client a registration access token belongs to; it must name the same client."""
    if not registration_access_token or not registration_access_token.startswith(REGISTRATION_TOKEN_PREFIX):
        raise InvalidToken("a registration access token is required")
    hashes = lookup_hashes(uow.keyring, REGISTRATION_TOKEN_PURPOSE, registration_access_token.encode())
    client = await clients_service.find_client_by_registration_token(uow.session, hashes)
    if client is None or client.client_id != client_id or client.status is not ClientStatus.ACTIVE:
        raise InvalidToken("the registration access token is not valid for this client")
    return client
