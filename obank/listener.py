"""PostgreSQL notifications for one process: one connection that LISTENs for every component that follows a channel.

A `LISTEN` holds its connection for as long as it listens, so the process keeps one, apart from its pools, and
hands each notification to the subscribers of its channel. A subscriber hears when the listener is connected
(notifications flow from then on: reload what may have been missed) and when the connection is lost
(notifications may be missed until it is back); the listener reconnects after `RECONNECT_DELAY_S`. Payloads
can be identifiers: they are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from obank.log import describe_error, get_logger

RECONNECT_DELAY_S = 1.0
APPLICATION_NAME = "obank-listener"
# The connection only ever reads: without keepalives a peer gone silent (a failover, a dropped NAT entry) would
# leave it waiting for notifications that never come. libpq ignores them on Unix-domain sockets.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}

_log = get_logger("obank.listener")


async def _no_reload() -> None:
    return None


def _no_reaction() -> None:
    return None


@dataclass(eq=False)
class Subscription:
    """One component following one channel: what to call on a notification, on (re)connection and on loss."""

    channel: str
    on_notify: Callable[[str], None]
    on_connect: Callable[[], Awaitable[None]] = _no_reload
    on_lost: Callable[[], None] = _no_reaction


class NotificationListener:
    """The process's one listening connection; `start()` connects it, `close()` ends it (the platform owns it)."""

    def __init__(self, database_url: str, *, reconnect_delay_s: float = RECONNECT_DELAY_S) -> None:
        self._conninfo = make_conninfo(_libpq_url(database_url), application_name=APPLICATION_NAME, **KEEPALIVES)
        self._reconnect_delay_s = reconnect_delay_s
        self._subscriptions: list[Subscription] = []
        self._connected = False
        self._joined: set[Subscription] = set()  # told "connected" on the current connection
        self._waiters: list[asyncio.Future[None]] = []
        self._changed: asyncio.Event | None = None  # of the running task's loop
        self._task: asyncio.Task[None] | None = None

    def subscribe(
        self,
        channel: str,
        on_notify: Callable[[str], None],
        *,
        on_connect: Callable[[], Awaitable[None]] = _no_reload,
        on_lost: Callable[[], None] = _no_reaction,
    ) -> Subscription:
        """Follow `channel`; a listener already connected LISTENs on it at once, then calls `on_connect`."""
        subscription = Subscription(channel, on_notify, on_connect, on_lost)
        self._subscriptions.append(subscription)
        if self._changed is not None:
            self._changed.set()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop calling `subscription` (its channel stays listened to until the next connection)."""
        with contextlib.suppress(ValueError):
            self._subscriptions.remove(subscription)
        self._joined.discard(subscription)

    @property
    def listening(self) -> bool:
        """Connected, and every subscriber told so."""
        return self._connected and self._running() and all(s in self._joined for s in self._subscriptions)

    async def start(self) -> None:
        """Connect and tell every subscriber; returns once done, raises if the attempt it waited for failed."""
        self.start_in_background()
        if self.listening:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter

    def start_in_background(self) -> None:
        """Start listening, unless already, without waiting for the connection."""
        if not self._running():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="notification-listener")

    async def close(self) -> None:
        """Stop listening; subscribers hear that the connection is gone."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._settle(RuntimeError("the notification listener was closed"))

    def _running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        self._changed = asyncio.Event()
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as connection:
                    await self._follow(connection)
            except Exception as exc:  # a refused or lost connection, a subscriber's failed reload
                event = "notifications_connection_lost" if self._connected else "notifications_connection_failed"
                _log.warning(event, error=describe_error(exc), reconnect_in_s=self._reconnect_delay_s)
                self._settle(exc)
            finally:
                self._leave()
            await asyncio.sleep(self._reconnect_delay_s)

    async def _follow(self, connection: psycopg.AsyncConnection[Any]) -> None:
        listened: set[str] = set()
        changed = self._changed
        assert changed is not None
        self._connected = True
        while True:
            changed.clear()
            joining = [s for s in self._subscriptions if s not in self._joined]
            channels = sorted({s.channel for s in joining} - listened)
            if channels:
                # One statement for every channel: LISTEN takes effect at once (autocommit).
                await connection.execute(
                    sql.SQL("; ").join(sql.SQL("LISTEN {}").format(sql.Identifier(c)) for c in channels)
                )
                listened.update(channels)
                _log.info("notifications_listening", channels=sorted(listened))
            # Listening before telling: whatever commits while a subscriber reloads arrives as a notification.
            for subscription in joining:
                await subscription.on_connect()
                if subscription in self._subscriptions:
                    self._joined.add(subscription)
            if self.listening:
                self._settle(None)
            await self._receive_until_changed(connection, changed)

    async def _receive_until_changed(self, connection: psycopg.AsyncConnection[Any], changed: asyncio.Event) -> None:
        """Dispatch notifications until a subscription arrives (returns) or the connection fails (raises)."""
        receiving = asyncio.create_task(self._dispatch(connection))
        waking = asyncio.create_task(changed.wait())
        try:
            await asyncio.wait({receiving, waking}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            receiving.cancel()
            waking.cancel()
            # Awaited: the notifications generator gives the connection back before anything else runs on it.
            await asyncio.gather(receiving, waking, return_exceptions=True)
        if not receiving.cancelled():
            receiving.result()  # the connection failed: raise why

    async def _dispatch(self, connection: psycopg.AsyncConnection[Any]) -> None:
        async for notification in connection.notifies():
            for subscription in [s for s in self._subscriptions if s.channel == notification.channel]:
                try:
                    subscription.on_notify(notification.payload)
                except Exception as exc:  # one bad notification must not stop the others
                    _log.warning("notification_not_applied", channel=notification.channel, error=describe_error(exc))
        raise psycopg.OperationalError("the server stopped sending notifications")

    def _leave(self) -> None:
        """Tell everyone told "connected" on this connection that it is gone."""
        left, self._joined = self._joined, set()
        self._connected = False
        for subscription in left:
            subscription.on_lost()

    def _settle(self, failure: BaseException | None) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if waiter.done():
                continue
            if failure is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(failure)


def _libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq takes it."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url
