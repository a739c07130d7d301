"""One transaction and its side effects: the session, the key ring, the actor, the events and audit records.

A service changes state through `uow.session` and reports what it did with `uow.publish(...)` (an
outbox event) and `uow.audit(...)` (an audit record). Nothing of either is written at once: the unit
of work collects them and, when its block succeeds, writes them last, just before COMMIT: the events in
the audit records' statement (one round trip for both). The audit append locks a chain head until commit,
so writing it last keeps that lock short without any service having to remember to call it last; a
savepoint rolled back drops what was reported inside it; a transaction rolled back writes nothing.

`obank` knows no audit schema: the writer of audit records is handed in (`audit.trail` builds the
factory with it), so this module stays infrastructure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from obank.actor import Actor, ActorKind
from obank.crypto import KeyRing
from obank.database import ATTEMPTS, Companion, create_sessionmaker, is_transient, unit_of_work
from obank.outbox.record import NewEvent, events_companion, record_events

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """What a context reports about one state change; `before`/`after` are encrypted at rest."""

    actor_kind: ActorKind
    actor_id: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    client_id: str | None = None
    session_id: str | None = None
    ip_address: str | None = None
    correlation_id: str | None = None


class AuditWriter(Protocol):
    """Appends audit records, in order, inside the caller's transaction (`audit.writer.append_audit_records`)."""

    def __call__(
        self, session: AsyncSession, keyring: KeyRing, entries: Sequence[AuditEntry], companions: Sequence[Companion], /
    ) -> Awaitable[object]: ...


@dataclass(eq=False)
class UnitOfWork:
    """One open transaction: what a service needs to change state and to say what it changed.

    `actor` is who acts unless a report names another (a sign-in is reported by the identity that
    signed in, though the request began anonymous).
    """

    session: AsyncSession
    keyring: KeyRing
    actor: Actor
    write_audit: AuditWriter
    _events: list[NewEvent] = field(default_factory=list)
    _entries: list[AuditEntry] = field(default_factory=list)

    def publish(
        self, *, topic: str, event_type: str, key: str, payload: dict[str, Any], correlation_id: str | None = None
    ) -> None:
        """An outbox event, written at commit; `key` orders the events of one aggregate for consumers.

        Without a correlation id it takes the current request's (one transaction may serve several).
        """
        self._events.append(
            NewEvent(topic=topic, event_type=event_type, key=key, payload=payload, correlation_id=correlation_id)
        )

    def audit(
        self,
        *,
        action: str,
        entity_type: str,
        entity_id: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        actor: Actor | None = None,
        ip_address: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """The audit record of one change, chained at commit after every event of this transaction."""
        who = actor or self.actor
        self._entries.append(
            AuditEntry(
                actor_kind=who.kind,
                actor_id=who.id,
                client_id=who.client_id,
                session_id=who.session_id,
                action=action,
                entity_type=entity_type,
                entity_id=entity_id,
                before=before,
                after=after,
                ip_address=ip_address,
                correlation_id=correlation_id,
            )
        )

    @property
    def pending_events(self) -> Sequence[NewEvent]:
        return tuple(self._events)

    @property
    def pending_audit(self) -> Sequence[AuditEntry]:
        return tuple(self._entries)

    @asynccontextmanager
    async def savepoint(self, *, in_database: bool = True) -> AsyncIterator[None]:
        """A nested transaction: if its block raises, its changes and its reports are undone together.

        `in_database=False` undoes the reports only, with no SAVEPOINT round trips: for a block that raises
        only before its first write (its raise leaves the transaction as it found it).
        """
        events, entries = len(self._events), len(self._entries)
        try:
            if in_database:
                async with self.session.begin_nested():
                    yield
            else:
                yield
        except BaseException:
            del self._events[events:], self._entries[entries:]
            raise

    async def write_reports(self) -> None:
        """Write the collected events and audit records (which hold a chain head until commit).

        With audit records to write, the events ride in the audit INSERT's statement (one round trip fewer).
        """
        events, entries = self._events[:], self._entries[:]
        self._events.clear()
        self._entries.clear()
        if not entries:
            await record_events(self.session, events)
            return
        companions = [events_companion(events)] if events else []
        await self.write_audit(self.session, self.keyring, entries, companions)

    @asynccontextmanager
    async def independent(self, actor: Actor | None = None) -> AsyncIterator[UnitOfWork]:
        """A transaction of its own on the same database, committed whatever becomes of this one.

        For what must outlive a refusal this transaction will roll back (revoking every token of a
        replayed authorization code or a reused refresh token).
        """
        engine = self.session.bind
        assert isinstance(engine, AsyncEngine), "a session bound to an engine"
        units = UnitsOfWork(create_sessionmaker(engine), self.keyring, self.write_audit)
        async with units.begin(actor or self.actor) as own:
            yield own


@dataclass(frozen=True, slots=True)
class UnitsOfWork:
    """Opens units of work on one database with one key ring and one audit writer (built once per app)."""

    sessions: async_sessionmaker[AsyncSession]
    keyring: KeyRing
    write_audit: AuditWriter

    @asynccontextmanager
    async def begin(self, actor: Actor) -> AsyncIterator[UnitOfWork]:
        """One transaction: its reports are written and it commits when the block succeeds, else nothing is."""
        async with unit_of_work(self.sessions) as session:
            uow = UnitOfWork(session, self.keyring, actor, self.write_audit)
            yield uow
            await uow.write_reports()

    async def retry(self, actor: Actor, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """Run `work` in one unit of work (commit included), again from scratch after a transient abort.

        SQLSTATE 40001/40P01 (a serialization failure or deadlock) or a lost connection roll the
        attempt back whole, its reports and idempotency-key claim included. A connection lost during
        COMMIT may have committed, so `work` must be idempotent (a transfer's key then replays the
        first answer; the interest jobs never pay a day or month twice).
        """
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(ATTEMPTS),
            wait=wait_random_exponential(multiplier=0.005, max=0.1),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                async with self.begin(actor) as uow:
                    result = await work(uow)
                return result
        raise AssertionError("unreachable: tenacity re-raises the last failure")


def request_unit_of_work(actor: Callable[..., Any]) -> Callable[..., AsyncIterator[UnitOfWork]]:
    """A FastAPI dependency: one unit of work per request, acting as the `actor` dependency resolves.

    Use it with `scope="function"`, so the commit happens before the response is sent and a failed
    commit is answered as an error: `Annotated[UnitOfWork, Depends(request_unit_of_work(f), scope="function")]`.
    The app keeps its `UnitsOfWork` as `app.state.units`.
    """

    async def dependency(request: Request, who: Actor) -> AsyncIterator[UnitOfWork]:
        units: UnitsOfWork = request.app.state.units
        async with units.begin(who) as uow:
            yield uow

    # Annotations here are strings (postponed evaluation) that FastAPI would resolve in this module's
    # globals, where `actor` is not: hand it the evaluated ones.
    dependency.__annotations__ = {
        "request": Request,
        "who": Annotated[Actor, Depends(actor)],
        "return": AsyncIterator[UnitOfWork],
    }
    return dependency


async def _request_units(request: Request) -> UnitsOfWork:
    units: UnitsOfWork = request.app.state.units
    return units


# The app's units of work, for a route that opens its own (retried ones, several per request).
UnitsDep = Annotated[UnitsOfWork, Depends(_request_units)]
