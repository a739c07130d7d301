"""Run a request once per idempotency key; retries get the first response (status and body) back.

The key is claimed by inserting its row first, in the request's own transaction: a concurrent request
with the same key blocks on that row until the first commits, then replays its stored response (or, if
the first rolled back, runs itself). Business refusals are stored too, with the operation's own writes
rolled back to a savepoint, so a retry sees the same refusal. An operation that refuses only before its first
write needs no savepoint, and may store its answer in its own last statement (`execute_once_completing`: a
transfer's answer goes out with its booking). The stored response is sealed to its key (`obank.crypto`): it
may name a payee or an account holder.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.errors import DomainError
from core_banking.idempotency import repository
from core_banking.idempotency.errors import IdempotencyKeyReused
from obank.crypto import KeyRing, seal, unseal
from obank.database import Companion
from obank.problems import error_problem
from obank.unit_of_work import UnitOfWork

RETENTION = timedelta(hours=24)
_RESPONSE = "idempotent_response"
_SEALING_NAMESPACE = uuid.UUID("6b0d3f5e-2f7a-4c1e-9a55-0c7f1c2b9e11")
_CLAIM_ATTEMPTS = 3

Operation = Callable[[], Awaitable[tuple[int, dict[str, Any]]]]


@dataclass(frozen=True, slots=True)
class IdempotentOutcome:
    """The response to send: the operation's own, or the stored first response (`replayed`)."""

    status: int
    body: dict[str, Any]
    replayed: bool


def request_fingerprint(*parts: Any) -> bytes:
    """SHA-256 of the request's meaningful parts (operation, target, body) in canonical JSON."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).digest()


@dataclass(eq=False, slots=True)
class KeyCompletion:
    """The claimed key, for an operation that stores its own answer in its last write (one round trip fewer)."""

    keyring: KeyRing
    scope: str
    key: str
    answer: tuple[int, dict[str, Any]] | None = None

    def companion(self, status: int, body: dict[str, Any]) -> Companion:
        """The write storing `status` and `body` as the key's answer; the operation must then return exactly them."""
        self.answer = (status, body)
        return repository.completion_companion(
            self.scope, self.key, status, _sealed(self.keyring, self.scope, self.key, body)
        )


CompletingOperation = Callable[[KeyCompletion], Awaitable[tuple[int, dict[str, Any]]]]


async def execute_once(
    uow: UnitOfWork,
    *,
    scope: str,
    key: str,
    fingerprint: bytes,
    operation: Operation,
    now: datetime | None = None,
) -> IdempotentOutcome:
    """Run `operation` unless `key` already answered in `scope`; a different request under the key is refused."""

    async def run(_completion: KeyCompletion) -> tuple[int, dict[str, Any]]:
        return await operation()

    return await _execute_once(uow, scope, key, fingerprint, run, now, savepoint=True)


async def execute_once_completing(
    uow: UnitOfWork,
    *,
    scope: str,
    key: str,
    fingerprint: bytes,
    operation: CompletingOperation,
    now: datetime | None = None,
) -> IdempotentOutcome:
    """`execute_once` for an operation that raises its refusals before its first write, and stores its answer
    in its last one (`KeyCompletion.companion`): no savepoint, and no statement of its own for the answer."""
    return await _execute_once(uow, scope, key, fingerprint, operation, now, savepoint=False)


async def _execute_once(
    uow: UnitOfWork,
    scope: str,
    key: str,
    fingerprint: bytes,
    operation: CompletingOperation,
    now: datetime | None,
    *,
    savepoint: bool,
) -> IdempotentOutcome:
    now = now or datetime.now(UTC)
    session = uow.session
    for _ in range(_CLAIM_ATTEMPTS):
        if await repository.claim(session, scope, key, fingerprint, now, now + RETENTION):
            break
        stored = await repository.get(session, scope, key)
        if stored is None:
            continue  # expired or purged between the two statements: claim again
        if stored.request_hash != fingerprint:
            raise IdempotencyKeyReused()
        return IdempotentOutcome(stored.status, _opened(uow.keyring, scope, key, stored), replayed=True)
    else:
        # Only a claim made earlier in this very transaction stays unanswered: a bug in the caller.
        raise RuntimeError(f"idempotency key {key!r} is claimed but unanswered in this transaction")
    completion = KeyCompletion(uow.keyring, scope, key)
    try:
        async with uow.savepoint(in_database=savepoint):
            status, body = await operation(completion)
    except DomainError as error:
        status, body = error.status, error_problem(error)
    else:
        if completion.answer is not None:
            if completion.answer[0] != status or completion.answer[1] is not body:
                raise RuntimeError("the operation answered otherwise than it stored")
            return IdempotentOutcome(status, body, replayed=False)
    await repository.complete(session, scope, key, status, _sealed(uow.keyring, scope, key, body))
    return IdempotentOutcome(status, body, replayed=False)


def _sealed(keyring: KeyRing, scope: str, key: str, body: dict[str, Any]) -> bytes:
    return seal(keyring, _owner(scope, key), _RESPONSE, json.dumps(body, separators=(",", ":")).encode())


def _owner(scope: str, key: str) -> uuid.UUID:
    """The id a stored response is sealed to: its scope and key, so it opens for no other row."""
    return uuid.uuid5(_SEALING_NAMESPACE, f"{scope}\x00{key}")


def _opened(keyring: KeyRing, scope: str, key: str, stored: repository.StoredResponse) -> dict[str, Any]:
    if stored.sealed is None:
        assert stored.legacy_body is not None
        return stored.legacy_body
    body: dict[str, Any] = json.loads(unseal(keyring, _owner(scope, key), _RESPONSE, stored.sealed))
    return body


async def purge_expired_keys(session: AsyncSession, now: datetime | None = None) -> int:
    """Forget keys past their retention; returns how many."""
    return await repository.purge_expired(session, now or datetime.now(UTC))
