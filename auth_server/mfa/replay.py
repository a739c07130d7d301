"""Across instances, a TOTP step is claimed once in Redis (when configured) as well as in the database."""

from __future__ import annotations

import uuid
from typing import Protocol

from redis.asyncio import Redis

from auth_server.mfa.totp import ALLOWED_DRIFT_STEPS, STEP_SECONDS

# A claimed step can be presented again only while it is inside the acceptance window; keep the key longer.
_CLAIM_TTL_S = STEP_SECONDS * (2 * ALLOWED_DRIFT_STEPS + 2)


class ReplayGuard(Protocol):
    async def claim(self, identity_id: uuid.UUID, step: int) -> bool:
        """True the first time this identity's step is claimed, False on every later claim."""
        ...


class DatabaseOnlyGuard:
    """Single-process or database-only deployments: the row lock and `last_used_step` already refuse replay."""

    async def claim(self, identity_id: uuid.UUID, step: int) -> bool:
        return True


class RedisReplayGuard:
    """`SET NX` with a TTL: the first instance to claim a step wins, all others see it taken."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def claim(self, identity_id: uuid.UUID, step: int) -> bool:
        # One connection per claim: claims happen once per sign-in, and no pool outlives the app.
        async with Redis.from_url(self.url) as client:
            claimed = await client.set(f"obank:auth:totp-step:{identity_id}:{step}", b"1", nx=True, ex=_CLAIM_TTL_S)
        return bool(claimed)


def replay_guard(redis_url: str | None) -> ReplayGuard:
    return RedisReplayGuard(redis_url) if redis_url else DatabaseOnlyGuard()
