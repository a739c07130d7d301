"""Rebuild the features from the outbox: for recovery (a lost or corrupted table, a changed feature) and its test.

The derived tables are emptied and every event of the features' topics is replayed through `apply_event` in
`position` order, in one transaction: decisions and the consumer wait for it (TRUNCATE's lock) and then see the
whole rebuilt state. Each replayed event is marked consumed by the features consumer, so one the relay has not
delivered yet is not applied a second time afterwards. The mule list and the allow-list are analysts' decisions
and stay as they are.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from fraud.features import repository
from fraud.features.consumers import FEATURES_CONSUMER
from fraud.features.service import FEATURE_TOPICS, apply_event
from obank.database import ATTEMPTS, is_transient, unit_of_work
from obank.log import get_logger
from obank.outbox import repository as outbox
from obank.outbox.repository import to_event

PAGE = 1000

_log = get_logger("fraud.features.rebuild")


async def rebuild_features(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Empty the derived feature tables and replay every event of their topics; the number of events replayed.

    A consumer transaction caught between its claim of an event and our lock can deadlock with the rebuild;
    PostgreSQL aborts one of the two, and an aborted rebuild starts again from scratch.
    """
    retrying = AsyncRetrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(ATTEMPTS),
        wait=wait_random_exponential(multiplier=0.05, max=1.0),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            replayed = await _rebuild(sessions)
            _log.info("fraud_features_rebuilt", events=replayed)
            return replayed
    raise AssertionError("unreachable: tenacity re-raises the last failure")


async def _rebuild(sessions: async_sessionmaker[AsyncSession]) -> int:
    replayed = 0
    async with unit_of_work(sessions) as session:
        await repository.empty_derived_features(session)
        position = 0
        while page := await repository.outbox_page(session, FEATURE_TOPICS, position, PAGE):
            for row in page:
                await outbox.mark_consumed(session, FEATURES_CONSUMER, row.event_id)
                await apply_event(session, to_event(row))
                position = row.position
                replayed += 1
            session.expunge_all()  # the pages already replayed need not stay in memory
    return replayed
