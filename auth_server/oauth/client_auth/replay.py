"""Single use of client assertion `jti`s (RFC 7523 s3 item 7): in Redis when configured, else PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Protocol

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from auth_server.oauth.client_auth import repository

PURGE_EVERY = 1000
CLAIM_WORKERS = 2  # one batch fills while the other runs
MAX_CLAIM_BATCH = 128
REDIS_PREFIX = "obank:oauth:jti:"

_Claim = tuple[str, str, datetime]  # client_id, jti, kept until


class ReplayCache(Protocol):
    async def claim(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        """Record the jti until `expires_at`; False when the client already used it."""
        ...

    async def close(self) -> None: ...


class DatabaseReplayCache:
    """The single-process (embedded) default; also correct across processes sharing the database.

    Claims arriving together share one statement and one round trip (at most `CLAIM_WORKERS` at a time, so
    a burst never opens a connection per request); each caller resumes once its own claim is settled. A
    `(client, jti)` pair twice in one batch is claimed by the first caller only. `engine` must not be the
    pool the request holds a connection of (the platform's `side_engine`).
    """

    def __init__(self, engine: AsyncEngine, *, max_batch: int = MAX_CLAIM_BATCH) -> None:
        # Autocommit: a jti is spent even when the request that carried it fails later, in one round trip.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._max_batch = max_batch
        self._claims = 0
        self._queue: asyncio.Queue[tuple[_Claim, asyncio.Future[bool]]] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def claim(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # the first claim, or a new event loop (the old one's workers are gone)
            self._loop, self._queue = loop, asyncio.Queue()
            self._workers = [asyncio.create_task(self._work()) for _ in range(CLAIM_WORKERS)]
        done: asyncio.Future[bool] = loop.create_future()
        self._queue.put_nowait(((client_id, jti, expires_at), done))
        return await done

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._claim_batch(batch)

    async def _claim_batch(self, batch: list[tuple[_Claim, asyncio.Future[bool]]]) -> None:
        distinct: dict[tuple[str, str], _Claim] = {}
        for claim, _ in batch:
            distinct.setdefault((claim[0], claim[1]), claim)
        try:
            async with self._engine.connect() as connection:
                claimed = await repository.claim_assertions(connection, list(distinct.values()))
                before, self._claims = self._claims, self._claims + len(distinct)
                if self._claims // PURGE_EVERY != before // PURGE_EVERY:
                    await repository.purge_expired_assertions(connection, datetime.now(UTC))
        except Exception as exc:  # every caller of the batch learns it failed; the next batch tries afresh
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for (client_id, jti, _), done in batch:
            first = (client_id, jti) in claimed
            claimed.discard((client_id, jti))  # a second caller with the same pair finds it spent
            if not done.done():  # its caller may have gone: the claim stands
                done.set_result(first)

    async def close(self) -> None:
        if self._loop is asyncio.get_running_loop():  # else they went with their event loop
            for worker in self._workers:
                worker.cancel()
            for worker in self._workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
        self._workers, self._loop = [], None
        while not self._queue.empty():
            _, done = self._queue.get_nowait()
            if not done.done():
                done.set_exception(RuntimeError("the replay cache was closed before this claim"))


class RedisReplayCache:
    """Shared by every instance (OBANK_REDIS_URL): SET NX with the assertion's expiry."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    @classmethod
    def from_url(cls, url: str) -> RedisReplayCache:
        return cls(Redis.from_url(url))

    async def claim(self, client_id: str, jti: str, expires_at: datetime) -> bool:
        key = f"{REDIS_PREFIX}{len(client_id)}:{client_id}:{jti}"
        stored = await self._redis.set(key, b"1", nx=True, exat=int(expires_at.timestamp()) + 1)
        return bool(stored)

    async def close(self) -> None:
        await self._redis.aclose()


def build_replay_cache(redis_url: str | None, engine: AsyncEngine) -> ReplayCache:
    """Redis when configured, else the database through `engine`."""
    if redis_url:
        return RedisReplayCache.from_url(redis_url)
    return DatabaseReplayCache(engine)
