"""A deny-list of revoked identifiers with expiry, shared by every process through Redis when configured.

Writers add what they revoke (inside the revoking request, before its commit: a failed commit leaves an
extra denial, never a missing one); readers ask per request whether any identifier they hold is denied.
Entries live until what they deny would have expired anyway.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from redis.asyncio import Redis

KEY_PREFIX = "obank:revoked:"


class RevocationList(Protocol):
    """Revoked identifiers such as `jti:<id>`, `grant:<id>` or `consent:<id>`."""

    async def revoke(self, identifiers: Iterable[str], until: datetime) -> None:
        """Deny `identifiers` until `until` (at least one second)."""

    async def first_revoked(self, identifiers: Sequence[str]) -> str | None:
        """The first of `identifiers` that is denied, or None."""

    async def close(self) -> None:
        """Release connections."""


class MemoryRevocationList:
    """One process's deny-list: the embedded single-process default."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    async def revoke(self, identifiers: Iterable[str], until: datetime) -> None:
        expiry = max(until.timestamp(), time.time() + 1)
        for identifier in identifiers:
            self._until[identifier] = max(expiry, self._until.get(identifier, 0.0))
        if len(self._until) > 10_000:
            now = time.time()
            self._until = {key: at for key, at in self._until.items() if at > now}

    async def first_revoked(self, identifiers: Sequence[str]) -> str | None:
        now = time.time()
        for identifier in identifiers:
            if self._until.get(identifier, 0.0) > now:
                return identifier
        return None

    async def close(self) -> None:
        return None


class RedisRevocationList:
    """The deny-list in Redis, so a revocation on one instance is refused by all of them."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    @classmethod
    def from_url(cls, url: str) -> RedisRevocationList:
        return cls(Redis.from_url(url))

    async def revoke(self, identifiers: Iterable[str], until: datetime) -> None:
        expiry = max(int(until.timestamp()) + 1, int(time.time()) + 1)
        async with self._redis.pipeline(transaction=False) as pipe:
            for identifier in identifiers:
                pipe.set(KEY_PREFIX + identifier, b"1", exat=expiry)
            await pipe.execute()

    async def first_revoked(self, identifiers: Sequence[str]) -> str | None:
        if not identifiers:
            return None
        values = await self._redis.mget([KEY_PREFIX + identifier for identifier in identifiers])
        return next((identifier for identifier, value in zip(identifiers, values, strict=True) if value), None)

    async def close(self) -> None:
        await self._redis.aclose()


def build_revocation_list(redis_url: str | None) -> RevocationList:
    """Redis when configured (several instances), else this process's memory."""
    return RedisRevocationList.from_url(redis_url) if redis_url else MemoryRevocationList()
