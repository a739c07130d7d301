"""The features' periodic work, run by the scheduler (`bank/jobs.py` registers it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fraud.features import repository
from obank.database import unit_of_work
from obank.runtime import Platform

# A saved payee is forgotten this long after its cooling-off ended (and it was added): the takeover rule looks back
# a day at most, the cooling-off rule only within the cooling-off.
PAYEE_RETENTION = timedelta(days=30)


async def purge_features(platform: Platform, due_at: datetime) -> dict[str, int]:
    """Forget payment attempts older than `OBANK_FRAUD_ATTEMPTS_RETENTION_S`, sign-ins older than
    `OBANK_FRAUD_SIGN_IN_HISTORY_DAYS` and payees long out of their cooling-off: no rule looks back that far."""
    settings = platform.settings
    async with unit_of_work(platform.sessions) as session:
        purged = await repository.purge(
            session,
            attempts_before=due_at - timedelta(seconds=settings.fraud_attempts_retention_s),
            sign_ins_before=due_at - timedelta(days=settings.fraud_sign_in_history_days),
            payees_before=due_at - PAYEE_RETENTION,
        )
    return dict(purged)
