"""Group commit: writes arriving together share one transaction; each caller resumes only after its commit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from audit.trail import units_of_work
from obank.actor import Actor
from obank.crypto import KeyRing
from obank.database import create_sessionmaker
from obank.log import describe_error, get_logger
from obank.unit_of_work import UnitOfWork

WORKERS = 2  # one transaction fills while the other commits
MAX_BATCH = 64

_log = get_logger("auth_server.oauth.tokens.group_commit")
# Each write's reports name their own actors; the group's transaction acts as the token endpoint.
_ACTOR = Actor.system("auth_server")

T = TypeVar("T")


class GroupCommit(Generic[T]):
    """Under load a transaction carries every write queued while the previous one ran (up to `max_batch`),
    sharing its commit, round trips and connection; a lone write commits at once, without waiting.

    A failed group is retried one write per transaction, so a bad write fails only its own caller. `engine`
    is a pool apart from the requests' (the platform's `side_engine`): a request holding a connection of the
    main pool never starves the workers it waits on.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        keyring: KeyRing,
        write: Callable[[UnitOfWork, Sequence[T]], Awaitable[None]],
        *,
        workers: int = WORKERS,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._units = units_of_work(create_sessionmaker(engine), keyring)
        self._write = write
        self._worker_count = workers
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[None]]] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []

    async def submit(self, item: T) -> None:
        """Write `item` in the next group; returns once that group committed, raises if it could not."""
        if not self._workers:
            self._workers = [asyncio.create_task(self._work()) for _ in range(self._worker_count)]
        done = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, done))
        await done

    async def _work(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < self._max_batch and not self._queue.empty():
                group.append(self._queue.get_nowait())
            await self._commit(group)

    async def _commit(self, group: list[tuple[T, asyncio.Future[None]]]) -> None:
        try:
            async with self._units.begin(_ACTOR) as uow:
                await self._write(uow, [item for item, _ in group])
        except Exception as exc:
            if len(group) > 1:
                _log.warning("group_commit_failed_retrying_singly", size=len(group), error=describe_error(exc))
                for entry in group:
                    await self._commit([entry])
                return
            if not group[0][1].done():
                group[0][1].set_exception(exc)
            return
        for _, done in group:
            if not done.done():  # its caller may have gone (a dropped connection): the write stands
                done.set_result(None)

    async def close(self) -> None:
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []
        while not self._queue.empty():
            _, done = self._queue.get_nowait()
            if not done.done():
                done.set_exception(RuntimeError("the group commit was closed before this write"))
