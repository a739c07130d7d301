"""Registered clients held in memory for client authentication, invalidated by PostgreSQL notifications.

Every change to a client sends `NOTIFY` on `CHANGES_CHANNEL` in its transaction (delivered on commit) to
every process's listener, which drops the entry. Entries are kept only while the listener is connected
(a lost connection clears the cache until it is back) and never longer than `MAX_AGE_S` anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.clients import repository, service
from auth_server.oauth.clients.schemas import ClientRecord
from obank.log import describe_error, get_logger

MAX_AGE_S = 60.0
RECONNECT_S = 1.0
MAX_ENTRIES = 10_000

_log = get_logger("auth_server.oauth.clients.cache")


def _libpq_url(database_url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url[len(prefix) :]
    return database_url


class ClientCache:
    """The process's copy of the clients it authenticated lately; `close()` stops its listener."""

    def __init__(self, database_url: str, *, max_age_s: float = MAX_AGE_S) -> None:
        self._url = _libpq_url(database_url)
        self._max_age_s = max_age_s
        self._entries: dict[str, tuple[float, ClientRecord]] = {}
        # Moves on every invalidation and (re)connection: a load that raced one is not kept.
        self._generation = 0
        self._listening = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    async def client(self, session: AsyncSession, client_id: str) -> ClientRecord | None:
        """The registered client (cached while fresh), or None."""
        self._start_listener()
        entry = self._entries.get(client_id)
        if entry is not None and self._listening.is_set() and time.monotonic() - entry[0] < self._max_age_s:
            return entry[1]
        generation, listening = self._generation, self._listening.is_set()
        record = await service.find_client(session, client_id)
        if record is not None and listening and self._listening.is_set() and generation == self._generation:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[client_id] = (time.monotonic(), record)
        return record

    def forget(self, client_id: str) -> None:
        """Drop a client this process is changing (its notification follows on commit)."""
        self._generation += 1
        self._entries.pop(client_id, None)

    async def wait_listening(self, timeout_s: float = 5.0) -> None:
        """Until notifications are received (entries are kept only from then on)."""
        self._start_listener()
        async with asyncio.timeout(timeout_s):
            await self._listening.wait()

    def _start_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as connection:
                    await repository.listen_for_changes(connection)
                    self._generation += 1
                    self._listening.set()
                    async for notification in connection.notifies():
                        self.forget(notification.payload)
            except psycopg.Error as exc:
                _log.warning("client_cache_listener_lost", error=describe_error(exc))
            finally:
                self._listening.clear()
                self._generation += 1
                self._entries.clear()
            await asyncio.sleep(RECONNECT_S)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
