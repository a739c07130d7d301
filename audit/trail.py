"""Units of work that write their audit records to this trail: what every context's app and jobs open."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from audit.writer import append_audit_records
from obank.crypto import KeyRing
from obank.runtime import Platform
from obank.unit_of_work import UnitsOfWork


def units_of_work(sessions: async_sessionmaker[AsyncSession], keyring: KeyRing) -> UnitsOfWork:
    """Units of work on `sessions` whose audit records are chained into the audit schema."""
    return UnitsOfWork(sessions, keyring, append_audit_records)


def platform_units(platform: Platform) -> UnitsOfWork:
    """The units of work of a wired platform."""
    return units_of_work(platform.sessions, platform.keyring)
