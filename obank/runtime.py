"""The wired platform of one process: settings, database, keys; built once at start-up (composition root)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from obank.crypto import KeyRing, load_keyring
from obank.database import create_engine, create_sessionmaker
from obank.embedded_db import ensure_embedded_database
from obank.revocation import RevocationList, build_revocation_list
from obank.settings import Settings


@dataclass
class Platform:
    """What every context needs from the infrastructure, handed over explicitly (no globals).

    `revocations` is the deny-list the authorization server writes and the gateway reads per request.
    """

    settings: Settings
    database_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    keyring: KeyRing
    revocations: RevocationList

    async def start(self) -> None:
        """Load the deny-list and follow its changes; the process serves no token before this returns."""
        await self.revocations.start()

    async def close(self) -> None:
        await self.revocations.close()
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
    return Platform(
        settings=settings,
        database_url=url,
        engine=engine,
        sessions=create_sessionmaker(engine),
        keyring=load_keyring(settings),
        revocations=build_revocation_list(engine, url, settings.redis_url),
    )
