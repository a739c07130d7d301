"""`obank webhooks ...`: integrators' endpoints, their secrets, messages and dead letters, from the operator's shell.

Changes are audited as the operator at the machine (`obank webhooks (<user>)`); a secret is printed once.
"""

from __future__ import annotations

import asyncio
import getpass
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from notifications.webhooks.models import MessageStatus, message_id_of
from obank.problems import ProblemError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from notifications.webhooks.schemas import EndpointRecord, MessageRecord, SecretIssued
    from notifications.webhooks.service import EndpointRules
    from obank.unit_of_work import UnitOfWork

app = typer.Typer(help="Webhooks for integrators: endpoints, secrets, messages, replays.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
T = TypeVar("T")


@app.callback()
def webhooks() -> None:
    """Webhooks for integrators: endpoints, secrets, messages, replays."""


def _run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(work())
    except ProblemError as error:
        errors.print(f"[red]{error.detail}[/red]", soft_wrap=True)
        raise typer.Exit(1 if error.status in (404, 409) else 2) from error


def _with_platform(work: Callable[..., Awaitable[T]], *, changes: bool) -> T:
    """Run `work(uow, rules)` in one audited transaction, or `work(session)` in a read-only one."""
    from audit.trail import platform_units
    from notifications.webhooks.service import EndpointRules
    from obank.actor import Actor
    from obank.database import unit_of_work
    from obank.log import configure_logging
    from obank.runtime import build_platform
    from obank.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level)

    async def run() -> T:
        platform = build_platform(settings)
        try:
            if changes:
                operator = Actor.system(f"obank webhooks ({getpass.getuser()})")
                async with platform_units(platform).begin(operator) as uow:
                    return await work(uow, EndpointRules.from_settings(settings))
            async with unit_of_work(platform.sessions) as session:
                return await work(session)
        finally:
            await platform.close()

    return _run(run)


def _at(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _endpoints_table(records: list[EndpointRecord]) -> Table:
    table = Table("id", "url", "event types", "ordered", "enabled", "description")
    for record in records:
        state = (
            "yes"
            if record.enabled
            else f"no ({record.disabled_reason.value.lower() if record.disabled_reason else ''})"
        )
        table.add_row(
            str(record.id),
            record.url,
            ", ".join(record.event_types),
            "yes" if record.ordered else "no",
            state,
            record.description,
        )
    return table


def _messages_table(records: list[MessageRecord]) -> Table:
    table = Table("webhook-id", "endpoint", "event type", "status", "attempts", "next attempt", "last answer")
    for record in records:
        answer = str(record.last_response_status) if record.last_response_status is not None else record.last_error
        table.add_row(
            record.webhook_id,
            str(record.endpoint_id),
            record.event_type,
            record.status.value,
            str(record.attempts),
            _at(record.next_attempt_at),
            answer or "",
        )
    return table


def _events(values: list[str]) -> list[str]:
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _message(value: str) -> uuid.UUID:
    try:
        return message_id_of(value)
    except ValueError as exc:
        errors.print(f"[red]not a message id or webhook-id: {value!r}[/red]")
        raise typer.Exit(2) from exc


@app.command()
def add(
    url: Annotated[str, typer.Argument(help="The receiver's https URL.")],
    events: Annotated[list[str], typer.Option("--events", help="Event types, comma-separated or repeated; * for all.")],
    ordered: Annotated[bool, typer.Option("--ordered", help="One account's messages in order, one at a time.")] = False,
    description: Annotated[str, typer.Option("--description", help="What the endpoint is for.")] = "",
) -> None:
    """Register an endpoint and print its signing secret, this once."""
    from notifications.webhooks import service
    from notifications.webhooks.schemas import EndpointCreate

    try:
        body = EndpointCreate(url=url, event_types=_events(events), ordered=ordered, description=description)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            errors.print(f"[red]{where}: {error['msg']}[/red]", soft_wrap=True)
        raise typer.Exit(2) from exc

    async def create(uow: UnitOfWork, rules: EndpointRules) -> SecretIssued:
        return await service.create_endpoint(uow, body, rules)

    issued = _with_platform(create, changes=True)
    console.print(_endpoints_table([issued.endpoint]))
    console.print(f"secret: {issued.secret}", soft_wrap=True)
    console.print("The secret is shown this once: configure the receiver with it now.")


@app.command("list")
def list_endpoints() -> None:
    """Every registered endpoint."""
    from notifications.webhooks import service

    async def read(session: AsyncSession) -> list[EndpointRecord]:
        return await service.list_endpoints(session)

    console.print(_endpoints_table(_with_platform(read, changes=False)))


@app.command()
def rotate(endpoint_id: Annotated[uuid.UUID, typer.Argument(help="The endpoint.")]) -> None:
    """A new signing secret, printed this once; the previous one signs too until the overlap ends."""
    from notifications.webhooks import service

    async def work(uow: UnitOfWork, rules: EndpointRules) -> SecretIssued:
        return await service.rotate_secret(uow, endpoint_id, rules)

    issued = _with_platform(work, changes=True)
    console.print(f"secret: {issued.secret}", soft_wrap=True)
    if issued.previous_expires_at is not None:
        console.print(f"the previous secret signs too until {_at(issued.previous_expires_at)} UTC", soft_wrap=True)


def _set_enabled(endpoint_id: uuid.UUID, enabled: bool) -> None:
    from notifications.webhooks import service
    from notifications.webhooks.schemas import EndpointUpdate

    async def work(uow: UnitOfWork, rules: EndpointRules) -> EndpointRecord:
        return await service.update_endpoint(uow, endpoint_id, EndpointUpdate(enabled=enabled), rules)

    console.print(_endpoints_table([_with_platform(work, changes=True)]))


@app.command()
def disable(endpoint_id: Annotated[uuid.UUID, typer.Argument(help="The endpoint.")]) -> None:
    """Stop sending to an endpoint; its pending messages wait."""
    _set_enabled(endpoint_id, False)


@app.command()
def enable(endpoint_id: Annotated[uuid.UUID, typer.Argument(help="The endpoint.")]) -> None:
    """Send to an endpoint again (also after a 410): its pending messages go first."""
    _set_enabled(endpoint_id, True)


@app.command()
def delete(endpoint_id: Annotated[uuid.UUID, typer.Argument(help="The endpoint.")]) -> None:
    """Delete an endpoint; its pending messages are cancelled."""
    from notifications.webhooks import service

    async def work(uow: UnitOfWork, rules: EndpointRules) -> None:
        await service.delete_endpoint(uow, endpoint_id)

    _with_platform(work, changes=True)
    console.print(f"deleted {endpoint_id}")


@app.command()
def messages(
    endpoint: Annotated[uuid.UUID | None, typer.Option("--endpoint", help="Only this endpoint's.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, delivered, dead or cancelled (dead: the dead letters).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="How many, newest first.")] = 50,
) -> None:
    """Messages, newest first."""
    from notifications.webhooks import service

    try:
        wanted = None if status is None else MessageStatus(status.upper())
    except ValueError as exc:
        errors.print(f"[red]--status is one of: {', '.join(s.value.lower() for s in MessageStatus)}[/red]")
        raise typer.Exit(2) from exc

    async def read(session: AsyncSession) -> list[MessageRecord]:
        return await service.list_messages(session, endpoint_id=endpoint, status=wanted, limit=limit)

    console.print(_messages_table(_with_platform(read, changes=False)))


@app.command()
def show(message: Annotated[str, typer.Argument(help="The message's id or webhook-id (msg_...).")]) -> None:
    """A message and every attempt at it: when, how long, the answer's status or the error."""
    from notifications.webhooks import service
    from notifications.webhooks.schemas import AttemptRecord

    message_id = _message(message)

    async def read(session: AsyncSession) -> tuple[MessageRecord, list[AttemptRecord]]:
        return await service.get_message(session, message_id)

    record, attempts = _with_platform(read, changes=False)
    console.print(_messages_table([record]))
    table = Table("attempt", "started (UTC)", "latency", "answer")
    for attempt in attempts:
        answer = str(attempt.response_status) if attempt.response_status is not None else attempt.error
        table.add_row(str(attempt.attempt), _at(attempt.started_at), f"{attempt.latency_ms} ms", answer or "")
    console.print(table)


@app.command()
def replay(message: Annotated[str, typer.Argument(help="The dead letter's id or webhook-id (msg_...).")]) -> None:
    """Send a dead-lettered message again (same webhook-id, fresh retry schedule)."""
    from notifications.webhooks import service

    message_id = _message(message)

    async def work(uow: UnitOfWork, rules: EndpointRules) -> MessageRecord:
        return await service.replay_message(uow, message_id)

    console.print(_messages_table([_with_platform(work, changes=True)]))


@app.command("replay-dead")
def replay_dead(endpoint_id: Annotated[uuid.UUID, typer.Argument(help="The endpoint.")]) -> None:
    """Send every dead-lettered message of an endpoint again."""
    from notifications.webhooks import service

    async def work(uow: UnitOfWork, rules: EndpointRules) -> int:
        return await service.replay_dead_letters(uow, endpoint_id)

    console.print(f"replayed {_with_platform(work, changes=True)} dead-lettered messages")


@app.command("event-types")
def event_types() -> None:
    """The event types endpoints may subscribe to, and what their messages' data holds."""
    from notifications.webhooks.catalogue import subscribable

    table = Table("event type", "description", "ordered by")
    for entry in subscribable():
        table.add_row(entry.name, entry.description, entry.account_field or "")
    console.print(table)
