"""The staff API of webhooks under /admin/v1/webhooks: endpoints, their secrets, messages, attempts, replays.

Any staff role reads; admins register, change, rotate, delete and replay (each change audited). Secrets are
shown once, in the 201 that creates them.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from notifications.dependencies import Admin, AnyStaff, UnitOfWorkDep
from notifications.webhooks import service
from notifications.webhooks.catalogue import subscribable
from notifications.webhooks.models import MessageStatus, message_id_of
from notifications.webhooks.schemas import (
    EndpointCreate,
    EndpointCreated,
    EndpointRead,
    EndpointUpdate,
    EventTypeRead,
    MessageDetail,
    MessageRead,
    ReplayResult,
    SecretRotated,
)
from obank.database import SessionDep
from obank.problems import ProblemError, problem_responses

PREFIX = "/admin/v1/webhooks"

router = APIRouter(
    prefix=PREFIX,
    tags=["admin: webhooks"],
    responses=problem_responses(
        (
            (401, "No valid principal assertion"),
            (403, "The principal may not do this"),
            (404, "No such endpoint or message"),
            (409, "The message cannot be replayed"),
            (422, "Invalid request, naming the field"),
        )
    ),
)


class InvalidMessageId(ProblemError):
    status = 404
    code = "webhook_message_not_found"
    title = "Webhook message not found"


def _rules(request: Request) -> service.EndpointRules:
    rules: service.EndpointRules | None = getattr(request.app.state, "webhook_rules", None)
    if rules is None:
        rules = service.EndpointRules.from_settings(request.app.state.platform.settings)
        request.app.state.webhook_rules = rules
    return rules


def _message_id(message_id: str) -> uuid.UUID:
    """A message named by its id or its `webhook-id` (`msg_...`, what a receiver saw)."""
    try:
        return message_id_of(message_id)
    except ValueError as exc:
        raise InvalidMessageId(f"no webhook message {message_id[:80]}") from exc


RulesDep = Annotated[service.EndpointRules, Depends(_rules)]
MessageId = Annotated[uuid.UUID, Depends(_message_id)]
Limit = Annotated[int, Query(ge=1, le=service.MESSAGES_MAX, description="How many messages, newest first")]
Before = Annotated[uuid.UUID | None, Query(description="Only messages older than this one (the next page)")]
StatusFilter = Annotated[MessageStatus | None, Query(alias="status", description="Only messages in this state")]


@router.get("/event-types")
async def list_event_types(_staff: AnyStaff) -> list[EventTypeRead]:
    """The event types endpoints may subscribe to (or `*` for all), and the fields each message's `data` has."""
    return [EventTypeRead.from_entry(entry) for entry in subscribable()]


@router.get("/endpoints")
async def list_endpoints(_staff: AnyStaff, session: SessionDep) -> list[EndpointRead]:
    """Every registered endpoint, oldest first."""
    return [EndpointRead.from_record(record) for record in await service.list_endpoints(session)]


@router.post("/endpoints", status_code=201)
async def create_endpoint(body: EndpointCreate, _admin: Admin, uow: UnitOfWorkDep, rules: RulesDep) -> EndpointCreated:
    """Register an endpoint; the answer holds its signing secret (`whsec_...`), shown this once."""
    return EndpointCreated.from_issued(await service.create_endpoint(uow, body, rules))


@router.get("/endpoints/{endpoint_id}")
async def get_endpoint(endpoint_id: uuid.UUID, _staff: AnyStaff, session: SessionDep) -> EndpointRead:
    return EndpointRead.from_record(await service.get_endpoint(session, endpoint_id))


@router.patch("/endpoints/{endpoint_id}")
async def update_endpoint(
    endpoint_id: uuid.UUID, body: EndpointUpdate, _admin: Admin, uow: UnitOfWorkDep, rules: RulesDep
) -> EndpointRead:
    """Change an endpoint's URL, event types, description, ordering, or enable or disable it."""
    return EndpointRead.from_record(await service.update_endpoint(uow, endpoint_id, body, rules))


@router.delete("/endpoints/{endpoint_id}", status_code=204)
async def delete_endpoint(endpoint_id: uuid.UUID, _admin: Admin, uow: UnitOfWorkDep) -> Response:
    """Delete an endpoint: its pending messages are cancelled; its messages and attempts stay readable."""
    await service.delete_endpoint(uow, endpoint_id)
    return Response(status_code=204)


@router.post("/endpoints/{endpoint_id}/rotate-secret", status_code=201)
async def rotate_secret(endpoint_id: uuid.UUID, _admin: Admin, uow: UnitOfWorkDep, rules: RulesDep) -> SecretRotated:
    """A new signing secret, shown this once; the previous one goes on signing until the overlap ends."""
    return SecretRotated.from_issued(await service.rotate_secret(uow, endpoint_id, rules))


@router.get("/endpoints/{endpoint_id}/messages")
async def list_endpoint_messages(
    endpoint_id: uuid.UUID,
    _staff: AnyStaff,
    session: SessionDep,
    status: StatusFilter = None,
    limit: Limit = service.MESSAGES_LIMIT,
    before: Before = None,
) -> list[MessageRead]:
    """An endpoint's messages, newest first; `status=DEAD` lists its dead letters."""
    records = await service.list_messages(session, endpoint_id=endpoint_id, status=status, limit=limit, before=before)
    return [MessageRead.from_record(record) for record in records]


@router.post("/endpoints/{endpoint_id}/replay-dead")
async def replay_dead_letters(endpoint_id: uuid.UUID, _admin: Admin, uow: UnitOfWorkDep) -> ReplayResult:
    """Send every dead-lettered message of the endpoint again."""
    return ReplayResult(replayed=await service.replay_dead_letters(uow, endpoint_id))


@router.get("/messages")
async def list_messages(
    _staff: AnyStaff,
    session: SessionDep,
    status: StatusFilter = None,
    limit: Limit = service.MESSAGES_LIMIT,
    before: Before = None,
) -> list[MessageRead]:
    """Every endpoint's messages, newest first; `status=DEAD` is the dead-letter store."""
    records = await service.list_messages(session, status=status, limit=limit, before=before)
    return [MessageRead.from_record(record) for record in records]


@router.get("/messages/{message_id}")
async def get_message(message_id: MessageId, _staff: AnyStaff, session: SessionDep) -> MessageDetail:
    """A message (by id or `webhook-id`), its payload and every attempt: status, latency, answer or error."""
    record, attempts = await service.get_message(session, message_id)
    return MessageDetail.from_records(record, attempts)


@router.post("/messages/{message_id}/replay")
async def replay_message(message_id: MessageId, _admin: Admin, uow: UnitOfWorkDep) -> MessageRead:
    """Send a dead-lettered message again (same `webhook-id`, fresh retry schedule); 409 for any other."""
    return MessageRead.from_record(await service.replay_message(uow, message_id))
