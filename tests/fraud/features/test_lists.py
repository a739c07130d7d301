"""The mule list and the allow-list: analysts' decisions, each audited and published on `fraud.lists`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from audit.models import AuditRecord
from fraud.errors import FieldError
from fraud.features.models import AllowedCreditor, MuleAccount
from fraud.features.service import FRAUD_LISTS_TOPIC, allow_creditor, list_mules, mark_mule, unmark_mule
from obank.actor import Actor, ActorKind
from obank.outbox.models import OutboxEvent
from obank.runtime import Platform
from obank.unit_of_work import UnitsOfWork
from tests.fraud.factories import creditor

ANALYST = Actor(ActorKind.STAFF, "analyst-1")


async def events(platform: Platform) -> list[tuple[str, str, dict[str, object]]]:
    async with platform.sessions() as session:
        rows = (
            await session.execute(
                select(OutboxEvent).where(OutboxEvent.topic == FRAUD_LISTS_TOPIC).order_by(OutboxEvent.position)
            )
        ).scalars()
        return [(row.event_type, row.key, row.payload) for row in rows]


async def audit_actions(platform: Platform) -> list[tuple[str, str]]:
    async with platform.sessions() as session:
        rows = (await session.execute(select(AuditRecord.action, AuditRecord.entity_id))).all()
    return sorted((action, entity) for action, entity in rows)


async def test_marking_a_mule_is_audited_published_and_sealed(platform: Platform, units: UnitsOfWork) -> None:
    alert = uuid.uuid4()
    async with units.begin(ANALYST) as uow:
        assert await mark_mule(uow, creditor(1), reason="  confirmed by J. Smith's bank  ", alert_id=alert)
    async with units.begin(ANALYST) as uow:
        assert not await mark_mule(uow, creditor(1), reason="again")  # the first marking stands
    async with platform.sessions() as session:
        row = await session.get(MuleAccount, creditor(1))
    assert row is not None and b"Smith" not in row.reason_sealed and row.alert_id == alert
    ((event_type, key, payload),) = await events(platform)
    assert (event_type, key) == ("mule.marked", creditor(1))
    assert payload["alert_id"] == str(alert) and "reason" not in payload
    assert await audit_actions(platform) == [("mule.marked", creditor(1))]

    async with platform.sessions() as session:
        listed = await list_mules(session, keyring=platform.keyring)
        unsealed = await list_mules(session)
    assert [(m.creditor_account, m.alert_id, m.reason) for m in listed] == [
        (creditor(1), alert, "confirmed by J. Smith's bank")
    ]
    assert unsealed[0].reason is None


async def test_unmarking_and_paging_the_mule_list(platform: Platform, units: UnitsOfWork) -> None:
    async with units.begin(ANALYST) as uow:
        for n in (3, 1, 2):
            await mark_mule(uow, creditor(n), reason=f"case {n}")
    async with platform.sessions() as session:
        first = await list_mules(session, limit=2)
        rest = await list_mules(session, limit=2, after=first[-1].creditor_account)
    assert [m.creditor_account for m in first] == [creditor(1), creditor(2)]
    assert [m.creditor_account for m in rest] == [creditor(3)]
    async with units.begin(ANALYST) as uow:
        assert await unmark_mule(uow, creditor(2))
    async with units.begin(ANALYST) as uow:
        assert not await unmark_mule(uow, creditor(2))
    async with platform.sessions() as session:
        assert [m.creditor_account for m in await list_mules(session)] == [creditor(1), creditor(3)]
    assert [event_type for event_type, _, _ in await events(platform)][-1] == "mule.unmarked"
    assert ("mule.unmarked", creditor(2)) in await audit_actions(platform)


async def test_allowing_a_creditor_is_audited_published_and_replaceable(platform: Platform, units: UnitsOfWork) -> None:
    customer, alert = uuid.uuid4(), uuid.uuid4()
    until = datetime.now(UTC) + timedelta(days=30)
    async with units.begin(ANALYST) as uow:
        await allow_creditor(uow, customer, creditor(5), until=until, alert_id=alert)
    async with units.begin(ANALYST) as uow:
        await allow_creditor(uow, customer, creditor(5), until=None)
    async with platform.sessions() as session:
        rows = (await session.execute(select(AllowedCreditor))).scalars().all()
    assert [(r.customer_id, r.creditor_account, r.until, r.alert_id) for r in rows] == [
        (customer, creditor(5), None, None)
    ]
    published = await events(platform)
    assert [(event_type, key) for event_type, key, _ in published] == [("creditor.allowed", str(customer))] * 2
    assert published[0][2]["until"] == until.isoformat()
    assert await audit_actions(platform) == [("creditor.allowed", f"{customer}:{creditor(5)}")] * 2


@pytest.mark.parametrize("account", ["", "1234567890123", "123456789012345", "12345678901a34", "1234567890123\x00"])
async def test_bad_accounts_are_refused_and_change_nothing(
    platform: Platform, units: UnitsOfWork, account: str
) -> None:
    async with units.begin(ANALYST) as uow:
        with pytest.raises(FieldError) as refused:
            await mark_mule(uow, account, reason="r")
        assert refused.value.field == "creditor_account" and refused.value.status == 422
        with pytest.raises(FieldError):
            await unmark_mule(uow, account)
        with pytest.raises(FieldError):
            await allow_creditor(uow, uuid.uuid4(), account, until=None)
    async with platform.sessions() as session:
        with pytest.raises(FieldError) as after:
            await list_mules(session, after=account)
        assert after.value.field == "after"
    assert await events(platform) == []


async def test_bad_reasons_and_past_ends_are_refused(platform: Platform, units: UnitsOfWork) -> None:
    async with units.begin(ANALYST) as uow:
        for reason in ("", "   ", "x" * 1001, "line\x00break"):
            with pytest.raises(FieldError) as refused:
                await mark_mule(uow, creditor(1), reason=reason)
            assert refused.value.field == "reason"
        with pytest.raises(FieldError) as past:
            await allow_creditor(uow, uuid.uuid4(), creditor(1), until=datetime.now(UTC) - timedelta(seconds=1))
        assert past.value.field == "until"
    assert await events(platform) == []
