"""The wired platform of one process: settings, database, keys; built once at start-up (composition root)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from obank.crypto import KeyRing, load_keyring
from obank.database import create_engine, create_sessionmaker, create_statement_engine
from obank.embedded_db import ensure_embedded_database
from obank.listener import NotificationListener
from obank.metrics import DatabaseMetrics
from obank.revocation import RevocationList, build_revocation_list
from obank.settings import Settings

# The side pool: the token group commit's two workers and the jti claims' two (claims arriving together share
# one statement, so a burst of requests never needs more); the overflow covers another OAuth server built on
# the same platform. Connections are never opened and closed per request.
SIDE_POOL_SIZE = 4
SIDE_POOL_OVERFLOW = 4


@dataclass
class Platform:
    """What every context needs from the infrastructure, handed over explicitly (no globals).

    `side_engine` is a small pool apart from `engine`'s for what a request waits on while it may hold one of
    `engine`'s connections (the jti claim, the token group commit, core banking in this process called from the
    authorization server's requests): from the same pool, a full pool would leave every such request waiting on
    itself. `statement_engine`'s connections are autocommit, for statements that run on their own
    (one-statement reads, `obank.database.Reads`). `listener` is the process's one LISTEN connection;
    `revocations` is the deny-list the authorization server writes and the gateway reads per request.
    `metrics` are the gauges every /metrics of the process reads from this database and its pools.
    """

    settings: Settings
    database_url: str
    engine: AsyncEngine
    side_engine: AsyncEngine
    statement_engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    keyring: KeyRing
    listener: NotificationListener
    revocations: RevocationList
    metrics: DatabaseMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = DatabaseMetrics(
            {"main": self.engine, "side": self.side_engine, "statements": self.statement_engine},
            cache_s=self.settings.metrics_cache_s,
            timeout_s=self.settings.readiness_timeout_s,
        )

    async def start(self) -> None:
        """Listen for every subscriber (the deny-list loads then); the process serves no token before this returns."""
        await self.listener.start()

    async def close(self) -> None:
        await self.revocations.close()
        await self.listener.close()
        await self.statement_engine.dispose()
        await self.side_engine.dispose()
        await self.engine.dispose()


async def _keyring(request: Request) -> KeyRing:
    keyring: KeyRing = request.app.state.platform.keyring
    return keyring


# The key ring of the platform the app was built with (every app keeps it as `app.state.platform`).
KeyRingDep = Annotated[KeyRing, Depends(_keyring)]


def resolve_database_url(settings: Settings) -> str:
    """The configured database, or the embedded development server in `var/pgdata`."""
    if settings.database_url:
        return settings.database_url
    settings.check_production_ready()
    return ensure_embedded_database(settings.data_dir / "pgdata")


def build_platform(settings: Settings, database_url: str | None = None) -> Platform:
    """Connect to the database and load the keys; refuses development defaults in production."""
    settings.check_production_ready()
    url = database_url or resolve_database_url(settings)
    engine = create_engine(url)
    listener = NotificationListener(url)
    return Platform(
        settings=settings,
        database_url=url,
        engine=engine,
        side_engine=create_engine(url, pool_size=SIDE_POOL_SIZE, max_overflow=SIDE_POOL_OVERFLOW),
        statement_engine=create_statement_engine(url),
        sessions=create_sessionmaker(engine),
        keyring=load_keyring(settings),
        listener=listener,
        revocations=build_revocation_list(engine, listener, settings.redis_url),
    )
