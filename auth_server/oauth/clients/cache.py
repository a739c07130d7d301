"""Registered clients held in memory for client authentication, invalidated by PostgreSQL notifications.

Every change to a client sends `NOTIFY` on `CHANGES_CHANNEL` in its transaction (delivered on commit) to
every process's listener (`obank.listener`), which drops the entry. Entries are kept only while the listener
is connected (a lost connection clears the cache until it is back) and never longer than `MAX_AGE_S` anyway.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.clients import repository, service
from auth_server.oauth.clients.schemas import ClientRecord
from obank.listener import NotificationListener

MAX_AGE_S = 60.0
MAX_ENTRIES = 10_000


class ClientCache:
    """The process's copy of the clients it authenticated lately; `close()` stops following changes."""

    def __init__(self, listener: NotificationListener, *, max_age_s: float = MAX_AGE_S) -> None:
        self._listener = listener
        self._max_age_s = max_age_s
        self._entries: dict[str, tuple[float, ClientRecord]] = {}
        # Moves on every invalidation and (re)connection: a load that raced one is not kept.
        self._generation = 0
        self._listening = False
        self._subscription = listener.subscribe(
            repository.CHANGES_CHANNEL, self.forget, on_connect=self._start_trusting, on_lost=self._stop_trusting
        )

    async def client(self, session: AsyncSession, client_id: str) -> ClientRecord | None:
        """The registered client (cached while fresh), or None."""
        self._listener.start_in_background()
        entry = self._entries.get(client_id)
        if entry is not None and self._listening and time.monotonic() - entry[0] < self._max_age_s:
            return entry[1]
        generation, listening = self._generation, self._listening
        record = await service.find_client(session, client_id)
        if record is not None and listening and self._listening and generation == self._generation:
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
        async with asyncio.timeout(timeout_s):
            await self._listener.start()

    async def _start_trusting(self) -> None:
        self._generation += 1
        self._listening = True

    def _stop_trusting(self) -> None:
        """A change may pass unannounced until the listener is back: trust nothing kept so far."""
        self._listening = False
        self._generation += 1
        self._entries.clear()

    async def close(self) -> None:
        self._listener.unsubscribe(self._subscription)
        self._stop_trusting()
