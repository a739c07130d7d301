"""The scheme originates payments from other banks to the bank's customers, as pacs.008 on the bank's topic."""

from __future__ import annotations

import pytest

from faster_payments import service
from faster_payments.messages import PACS_008, CreditTransfer, Party, TransactionStatus, decode
from faster_payments.models import Direction
from obank.database import unit_of_work
from obank.runtime import Platform
from obank.topics import FPS_TO_BANK_TOPIC
from tests.faster_payments.conftest import ADA, CUSTOMER, SEACOLE_CLOSED, outbox_to_bank, scheduled


async def _send(platform: Platform, debtor: Party = ADA, **changes: object) -> CreditTransfer:
    arguments: dict[str, object] = {"amount_minor": 2_500, "currency": "GBP", "reference": "Dinner"} | changes
    async with unit_of_work(platform.sessions) as session:
        return await service.send_inbound(session, debtor=debtor, creditor=CUSTOMER, **arguments)  # type: ignore[arg-type]


async def test_an_inbound_payment_is_an_outbox_event_that_decodes_to_the_same_credit_transfer(scheme: Platform) -> None:
    transfer = await _send(scheme)

    (event,) = await outbox_to_bank(scheme.sessions)
    assert (event.topic, event.event_type, event.key) == (FPS_TO_BANK_TOPIC, PACS_008, transfer.transaction_id)
    assert decode(event.event_type, event.payload["xml"]) == transfer
    assert (transfer.debtor, transfer.creditor, transfer.amount_minor, transfer.reference) == (
        ADA,
        CUSTOMER,
        2_500,
        "Dinner",
    )
    async with unit_of_work(scheme.sessions) as session:
        recorded = await service.get_transaction(session, transfer.transaction_id)
        listed = await service.list_transactions(session)
    assert recorded is not None
    assert (recorded.direction, recorded.status, recorded.answered_at) == (
        Direction.TO_BANK,
        TransactionStatus.PDNG,
        None,
    )
    assert [record.tx_id for record in listed] == [transfer.transaction_id]


async def test_a_duplicated_inbound_payment_is_two_events_with_the_same_transaction_id(scheme: Platform) -> None:
    async with unit_of_work(scheme.sessions) as session:
        await service.set_faults(session, duplicate_rate=1.0, drop_rate=1.0)  # never lost: the bank could not ask

    transfer = await _send(scheme)

    events = await outbox_to_bank(scheme.sessions)
    assert [event.key for event in events] == [transfer.transaction_id] * 2
    assert {decode(event.event_type, event.payload["xml"]) for event in events} == {transfer}


async def test_a_delayed_inbound_payment_waits_for_the_dispatcher(scheme: Platform) -> None:
    async with unit_of_work(scheme.sessions) as session:
        await service.set_faults(session, delay_min_ms=500, delay_max_ms=500)

    transfer = await _send(scheme)

    assert await outbox_to_bank(scheme.sessions) == []
    (row,) = await scheduled(scheme.sessions, transfer.transaction_id)
    assert row.definition == PACS_008
    assert decode(row.definition, row.xml) == transfer


@pytest.mark.parametrize(
    ("debtor", "changes"),
    [
        (SEACOLE_CLOSED, {}),
        (Party(name="Nobody", sort_code="309634", account_number="00000000"), {}),
        (ADA, {"currency": "EUR"}),
        (ADA, {"amount_minor": 0}),
    ],
    ids=["closed-debtor", "unknown-debtor", "not-sterling", "no-amount"],
)
async def test_an_inbound_payment_the_scheme_cannot_originate_is_refused(
    scheme: Platform, debtor: Party, changes: dict[str, object]
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  (each refusal is a ValueError subclass)
        await _send(scheme, debtor, **changes)
    assert await outbox_to_bank(scheme.sessions) == []
