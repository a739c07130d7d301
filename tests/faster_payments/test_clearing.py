"""The scheme clears the bank's pacs.008 once per TxId and answers with a pacs.002 by its rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from faster_payments import service
from faster_payments.messages import Party, StatusReport, TransactionStatus
from faster_payments.models import AccountStatus, Direction, SchemeAccount, SchemeTransaction
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.faster_payments.conftest import ADA, SEACOLE_CLOSED, bank_event, bank_payment, deliver, replies


async def _transactions(platform: Platform) -> int:
    async with unit_of_work(platform.sessions) as session:
        return (await session.execute(select(func.count()).select_from(SchemeTransaction))).scalar_one()


@pytest.mark.parametrize(
    ("creditor", "status", "reason"),
    [
        (ADA, TransactionStatus.ACSC, None),
        (Party(name="  ada LOVELACE.", sort_code="309634", account_number="56100526"), TransactionStatus.ACSC, None),
        (Party(name="Ada Lovelace", sort_code="309634", account_number="56100527"), TransactionStatus.RJCT, "AC01"),
        (Party(name="Ada Lovelace", sort_code="112233", account_number="56100526"), TransactionStatus.RJCT, "AC01"),
        (SEACOLE_CLOSED, TransactionStatus.RJCT, "AC04"),
        (Party(name="Alan Turing", sort_code="309634", account_number="56100526"), TransactionStatus.RJCT, "BE01"),
    ],
    ids=["paid", "name-normalised", "unknown-account", "unknown-sort-code", "closed", "name-mismatch"],
)
async def test_a_payment_is_answered_by_the_clearing_rules(
    scheme: Platform, creditor: Party, status: TransactionStatus, reason: str | None
) -> None:
    payment = bank_payment(creditor)

    assert await deliver(scheme, payment)

    (report,) = await replies(scheme.sessions, payment.transaction_id)
    assert (report.status, report.reason) == (status, reason)
    assert report.original_transaction_id == payment.transaction_id
    assert report.original_message_id == payment.message_id
    assert report.original_end_to_end_id == payment.end_to_end_id
    async with unit_of_work(scheme.sessions) as session:
        recorded = await service.get_transaction(session, payment.transaction_id)
    assert recorded is not None
    assert (recorded.direction, recorded.status, recorded.reason) == (Direction.FROM_BANK, status, reason)
    assert (recorded.amount_minor, recorded.currency, recorded.creditor) == (12_345, "GBP", creditor)
    assert recorded.answered_at is not None


async def test_a_payment_older_than_the_acceptance_window_is_rejected_ab05(scheme: Platform) -> None:
    async with unit_of_work(scheme.sessions) as session:
        await service.set_faults(session, timeout_s=10)
    late = bank_payment(created_at=datetime.now(UTC) - timedelta(seconds=11))
    in_time = bank_payment(created_at=datetime.now(UTC) - timedelta(seconds=5))

    await deliver(scheme, late)
    await deliver(scheme, in_time)

    assert [(r.status, r.reason) for r in await replies(scheme.sessions, late.transaction_id)] == [
        (TransactionStatus.RJCT, "AB05")
    ]
    assert [(r.status, r.reason) for r in await replies(scheme.sessions, in_time.transaction_id)] == [
        (TransactionStatus.ACSC, None)
    ]


async def test_a_payment_not_in_sterling_is_rejected(scheme: Platform) -> None:
    payment = bank_payment(currency="EUR")
    await deliver(scheme, payment)
    assert [(r.status, r.reason) for r in await replies(scheme.sessions, payment.transaction_id)] == [
        (TransactionStatus.RJCT, "AM03")
    ]


async def test_a_duplicate_submission_is_answered_identically_and_recorded_once(scheme: Platform) -> None:
    payment = bank_payment()
    await deliver(scheme, payment)
    # The bank sends it again (a new event, as a retry would be); by then the account has closed.
    async with unit_of_work(scheme.sessions) as session:
        await session.execute(
            update(SchemeAccount)
            .where(SchemeAccount.sort_code == ADA.sort_code, SchemeAccount.account_number == ADA.account_number)
            .values(status=AccountStatus.CLOSED)
        )
    await deliver(scheme, payment)
    resent_in_a_new_message = bank_payment(transaction_id=payment.transaction_id, message_id="RESENT-1")
    await deliver(scheme, resent_in_a_new_message)

    answers = await replies(scheme.sessions, payment.transaction_id)
    assert [(r.status, r.reason) for r in answers] == [(TransactionStatus.ACSC, None)] * 3
    assert [r.original_message_id for r in answers] == [payment.message_id, payment.message_id, "RESENT-1"]
    assert await _transactions(scheme) == 1


async def test_a_duplicate_of_a_rejected_payment_stays_rejected_even_if_it_would_now_clear(scheme: Platform) -> None:
    stale = bank_payment(created_at=datetime.now(UTC) - timedelta(minutes=5))
    await deliver(scheme, stale)
    fresh_copy = bank_payment(transaction_id=stale.transaction_id)  # same TxId, now within the window
    await deliver(scheme, fresh_copy)

    answers = await replies(scheme.sessions, stale.transaction_id)
    assert [(r.status, r.reason) for r in answers] == [(TransactionStatus.RJCT, "AB05")] * 2
    assert await _transactions(scheme) == 1


async def test_the_same_event_redelivered_is_applied_once(scheme: Platform) -> None:
    event = bank_event(bank_payment())
    assert await deliver(scheme, event)
    assert not await deliver(scheme, event)
    assert len(await replies(scheme.sessions, event.key)) == 1


async def test_an_undecodable_message_is_skipped_without_logging_its_content(
    scheme: Platform, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    from obank.log import configure_logging

    configure_logging("INFO")
    event = bank_event(bank_payment())
    secret = "Secret Customer Name"
    broken = type(event)(
        event_id=event.event_id,
        topic=event.topic,
        event_type=event.event_type,
        key=event.key,
        payload={"xml": f"<Document><Nm>{secret}</Nm>"},
        correlation_id=event.correlation_id,
    )
    wrong_type = type(event)(
        event_id=type(event.event_id)(int=event.event_id.int + 1),
        topic=event.topic,
        event_type="pacs.999.001.01",
        key=event.key,
        payload={"xml": 17},
        correlation_id=event.correlation_id,
    )

    assert await deliver(scheme, broken)  # consumed, not raised: it can never be applied
    assert await deliver(scheme, wrong_type)

    assert await _transactions(scheme) == 0
    assert await replies(scheme.sessions, event.key) == []
    output = capsys.readouterr().err
    assert "scheme_message_undecodable" in output and "InvalidMessage" in output
    assert secret not in output


async def test_a_status_request_for_a_known_payment_answers_its_recorded_status(scheme: Platform) -> None:
    from faster_payments.messages import StatusRequest

    payment = bank_payment(SEACOLE_CLOSED)
    await deliver(scheme, payment)
    request = StatusRequest(
        message_id="REQ-1",
        original_message_id=payment.message_id,
        original_transaction_id=payment.transaction_id,
        original_end_to_end_id=payment.end_to_end_id,
        created_at=datetime.now(UTC),
    )
    await deliver(scheme, request)

    first, answer = await replies(scheme.sessions, payment.transaction_id)
    assert (answer.status, answer.reason) == (first.status, first.reason) == (TransactionStatus.RJCT, "AC04")
    assert answer.original_message_id == payment.message_id
    assert answer.message_id != first.message_id
    assert await _transactions(scheme) == 1


async def test_a_status_request_for_an_unknown_payment_rejects_it_so_a_late_pacs008_is_refused(
    scheme: Platform,
) -> None:
    from faster_payments.messages import StatusRequest

    lost = bank_payment()  # the bank sent it, but it never reached the scheme (yet)
    request = StatusRequest(
        message_id="REQ-2",
        original_message_id=lost.message_id,
        original_transaction_id=lost.transaction_id,
        original_end_to_end_id=lost.end_to_end_id,
        created_at=datetime.now(UTC),
    )
    await deliver(scheme, request)
    await deliver(scheme, lost)  # arrives late, within its window and to an open account: still refused

    answers = await replies(scheme.sessions, lost.transaction_id)
    assert [(r.status, r.reason) for r in answers] == [(TransactionStatus.RJCT, "AB05")] * 2
    assert answers[0].original_message_id == lost.message_id
    async with unit_of_work(scheme.sessions) as session:
        recorded = await service.get_transaction(session, lost.transaction_id)
    assert recorded is not None and (recorded.status, recorded.reason) == (TransactionStatus.RJCT, "AB05")
    assert recorded.amount_minor is None  # never cleared


async def test_the_banks_answer_to_an_inbound_payment_is_recorded_once(scheme: Platform) -> None:
    from tests.faster_payments.conftest import CUSTOMER

    async with unit_of_work(scheme.sessions) as session:
        inbound = await service.send_inbound(session, debtor=ADA, creditor=CUSTOMER, amount_minor=500, reference="Gift")

    def answer(status: TransactionStatus, reason: str | None = None) -> StatusReport:
        return StatusReport(
            message_id=f"BANK-{status}",
            original_message_id=inbound.message_id,
            original_transaction_id=inbound.transaction_id,
            original_end_to_end_id=inbound.end_to_end_id,
            status=status,
            reason=reason,
            created_at=datetime.now(UTC),
        )

    await deliver(scheme, answer(TransactionStatus.ACSC))
    await deliver(scheme, answer(TransactionStatus.RJCT, "AC01"))  # a final status holds

    async with unit_of_work(scheme.sessions) as session:
        recorded = await service.get_transaction(session, inbound.transaction_id)
    assert recorded is not None
    assert (recorded.direction, recorded.status, recorded.reason) == (Direction.TO_BANK, TransactionStatus.ACSC, None)
    assert recorded.answered_at is not None


async def test_a_status_report_about_an_unknown_payment_changes_nothing(scheme: Platform) -> None:
    report = StatusReport(
        message_id="BANK-1",
        original_message_id="NOPE",
        original_transaction_id="NOPE",
        original_end_to_end_id="NOPE",
        status=TransactionStatus.ACSC,
        reason=None,
        created_at=datetime.now(UTC),
    )
    assert await deliver(scheme, report)
    assert await _transactions(scheme) == 0


async def test_a_payment_reusing_the_txid_of_one_the_scheme_sent_the_bank_is_refused_dupl(scheme: Platform) -> None:
    from tests.faster_payments.conftest import CUSTOMER

    async with unit_of_work(scheme.sessions) as session:
        inbound = await service.send_inbound(session, debtor=ADA, creditor=CUSTOMER, amount_minor=500)
    clash = bank_payment(transaction_id=inbound.transaction_id)

    await deliver(scheme, clash)

    assert [(r.status, r.reason) for r in await replies(scheme.sessions, clash.transaction_id)] == [
        (TransactionStatus.RJCT, "DUPL")
    ]
    async with unit_of_work(scheme.sessions) as session:
        recorded = await service.get_transaction(session, inbound.transaction_id)
    assert recorded is not None and (recorded.direction, recorded.status) == (Direction.TO_BANK, TransactionStatus.PDNG)
