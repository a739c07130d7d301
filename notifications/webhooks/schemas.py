"""Shapes of webhooks: what staff send to register or change an endpoint, and the records they read back."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from notifications.webhooks.catalogue import CATALOGUE, WILDCARD, EventType
from notifications.webhooks.models import (
    DESCRIPTION_MAX,
    URL_MAX,
    DisabledReason,
    MessageStatus,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
    webhook_id,
)

EVENT_TYPES_MAX = 64
# C0 and C1 controls and DEL (the app refuses C0 in bodies already; C1 never belongs in a URL or a label).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


def _known_event_type(value: str) -> str:
    if value != WILDCARD and value not in CATALOGUE:
        raise ValueError(f"unknown event type {value!r} (GET /admin/v1/webhooks/event-types lists them)")
    return value


def _distinct(values: list[str]) -> list[str]:
    return sorted(set(values))


Url = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=URL_MAX), AfterValidator(_printable)
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=DESCRIPTION_MAX), AfterValidator(_printable)
]
EventTypeName = Annotated[str, StringConstraints(max_length=80), AfterValidator(_known_event_type)]
EventTypes = Annotated[list[EventTypeName], Field(min_length=1, max_length=EVENT_TYPES_MAX), AfterValidator(_distinct)]


class EndpointCreate(BaseModel):
    """Register an endpoint: its https URL, the event types it receives (`*`: all), and whether each account's
    messages must arrive in order (one at a time per account)."""

    model_config = ConfigDict(extra="forbid")

    url: Url
    event_types: EventTypes
    description: Description = ""
    ordered: bool = False


class EndpointUpdate(BaseModel):
    """Change an endpoint; fields left out stay. `enabled: true` also resumes an endpoint disabled by a 410."""

    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    ordered: bool | None = None
    enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class EndpointRecord:
    id: uuid.UUID
    url: str
    description: str
    event_types: tuple[str, ...]
    ordered: bool
    enabled: bool
    disabled_reason: DisabledReason | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: WebhookEndpoint) -> Self:
        return cls(
            id=row.id,
            url=row.url,
            description=row.description,
            event_types=tuple(row.event_types),
            ordered=row.ordered,
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def snapshot(self) -> dict[str, Any]:
        """The audit record's view: no secret (the URL is kept, encrypted with the record)."""
        return {
            "url": self.url,
            "description": self.description,
            "event_types": list(self.event_types),
            "ordered": self.ordered,
            "enabled": self.enabled,
            "disabled_reason": None if self.disabled_reason is None else self.disabled_reason.value,
        }


@dataclass(frozen=True, slots=True)
class SecretIssued:
    """A new signing secret as shown once, and until when the previous one still signs."""

    endpoint: EndpointRecord
    secret: str
    previous_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    attempt: int
    started_at: datetime
    latency_ms: int
    response_status: int | None
    error: str | None

    @classmethod
    def from_model(cls, row: WebhookAttempt) -> Self:
        return cls(row.attempt, row.started_at, row.latency_ms, row.response_status, row.error)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: MessageStatus
    attempts: int
    attempts_total: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_response_status: int | None
    last_error: str | None
    ordering_key: str | None
    occurred_at: datetime
    created_at: datetime
    finished_at: datetime | None
    body: str
    sequence: int

    @classmethod
    def from_model(cls, row: WebhookMessage) -> Self:
        return cls(
            id=row.id,
            endpoint_id=row.endpoint_id,
            event_id=row.event_id,
            event_type=row.event_type,
            status=row.status,
            attempts=row.attempts,
            attempts_total=row.attempts_total,
            next_attempt_at=row.next_attempt_at if row.status is MessageStatus.PENDING else None,
            last_attempt_at=row.last_attempt_at,
            last_response_status=row.last_response_status,
            last_error=row.last_error,
            ordering_key=row.ordering_key,
            occurred_at=row.occurred_at,
            created_at=row.created_at,
            finished_at=row.finished_at,
            body=row.body,
            sequence=row.sequence,
        )

    @property
    def webhook_id(self) -> str:
        return webhook_id(self.id)


class EndpointRead(BaseModel):
    """An endpoint as staff see it (never its secret)."""

    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    ordered: bool
    enabled: bool
    disabled_reason: DisabledReason | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, record: EndpointRecord) -> Self:
        return cls(
            id=record.id,
            url=record.url,
            description=record.description,
            event_types=list(record.event_types),
            ordered=record.ordered,
            enabled=record.enabled,
            disabled_reason=record.disabled_reason,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class EndpointCreated(EndpointRead):
    """The new endpoint with its signing secret, shown this once."""

    secret: str

    @classmethod
    def from_issued(cls, issued: SecretIssued) -> Self:
        return cls(**EndpointRead.from_record(issued.endpoint).model_dump(), secret=issued.secret)


class SecretRotated(BaseModel):
    """The endpoint's new signing secret, shown this once; the previous one signs too until
    `previous_secret_expires_at`."""

    endpoint_id: uuid.UUID
    secret: str
    previous_secret_expires_at: datetime | None

    @classmethod
    def from_issued(cls, issued: SecretIssued) -> Self:
        return cls(
            endpoint_id=issued.endpoint.id, secret=issued.secret, previous_secret_expires_at=issued.previous_expires_at
        )


class AttemptRead(BaseModel):
    """One delivery attempt: the answer's status, or the class of error (timeout, refused connection, ...)."""

    attempt: int
    started_at: datetime
    latency_ms: int
    response_status: int | None
    error: str | None
    succeeded: bool

    @classmethod
    def from_record(cls, record: AttemptRecord) -> Self:
        succeeded = record.response_status is not None and 200 <= record.response_status < 300
        return cls(
            attempt=record.attempt,
            started_at=record.started_at,
            latency_ms=record.latency_ms,
            response_status=record.response_status,
            error=record.error,
            succeeded=succeeded,
        )


class MessageRead(BaseModel):
    """A message to one endpoint: the event it carries and where its delivery stands."""

    id: uuid.UUID
    webhook_id: str
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: MessageStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_response_status: int | None
    last_error: str | None
    ordering_key: str | None
    occurred_at: datetime
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_record(cls, record: MessageRecord) -> Self:
        return cls(
            id=record.id,
            webhook_id=record.webhook_id,
            endpoint_id=record.endpoint_id,
            event_id=record.event_id,
            event_type=record.event_type,
            status=record.status,
            attempts=record.attempts,
            next_attempt_at=record.next_attempt_at,
            last_attempt_at=record.last_attempt_at,
            last_response_status=record.last_response_status,
            last_error=record.last_error,
            ordering_key=record.ordering_key,
            occurred_at=record.occurred_at,
            created_at=record.created_at,
            finished_at=record.finished_at,
        )


class MessageDetail(MessageRead):
    """A message with the payload it delivers and every attempt, oldest first."""

    payload: dict[str, Any]
    attempt_log: list[AttemptRead]

    @classmethod
    def from_records(cls, record: MessageRecord, attempts: list[AttemptRecord]) -> Self:
        return cls(
            **MessageRead.from_record(record).model_dump(),
            payload=json.loads(record.body),
            attempt_log=[AttemptRead.from_record(attempt) for attempt in attempts],
        )


class ReplayResult(BaseModel):
    """How many dead-lettered messages went back to be delivered."""

    replayed: int


class EventTypeRead(BaseModel):
    """An event type integrators may subscribe to, and the fields of its `data`."""

    type: str
    description: str
    fields: list[str]
    orders_by: str | None

    @classmethod
    def from_entry(cls, entry: EventType) -> Self:
        return cls(
            type=entry.name, description=entry.description, fields=list(entry.fields), orders_by=entry.account_field
        )
