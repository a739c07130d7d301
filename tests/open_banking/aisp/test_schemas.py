"""A consent's OB representation: statuses as v4.0 codes, Expired from the instant it lapses."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core_banking.facade import AccountAccessDetails, ConsentKind, ConsentRecord, ConsentStatus, Permission
from open_banking.aisp.schemas import OBReadConsentResponse1

CREATED = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
EXPIRES = CREATED + timedelta(days=30)


def consent(status: ConsentStatus, expires_at: datetime | None = EXPIRES) -> ConsentRecord:
    return ConsentRecord(
        id="aac-1",
        kind=ConsentKind.ACCOUNT_ACCESS,
        client_id="tpp-1",
        status=status,
        details=AccountAccessDetails((Permission.READ_ACCOUNTS_BASIC,), expires_at),
        customer_id=None if status is ConsentStatus.AWAITING_AUTHORISATION else uuid.uuid4(),
        account_ids=(),
        created_at=CREATED,
        status_updated_at=CREATED + timedelta(hours=1),
    )


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (ConsentStatus.AWAITING_AUTHORISATION, "AWAU"),
        (ConsentStatus.AUTHORISED, "AUTH"),
        (ConsentStatus.REJECTED, "RJCT"),
        (ConsentStatus.REVOKED, "CANC"),
    ],
)
def test_each_status_reads_as_its_v4_code(status: ConsentStatus, code: str) -> None:
    response = OBReadConsentResponse1.of(consent(status), "https://bank/x", CREATED)
    assert response.Data.Status == code
    assert response.Data.StatusUpdateDateTime == CREATED + timedelta(hours=1)


def test_an_authorised_consent_past_its_expiry_reads_expired_since_then() -> None:
    response = OBReadConsentResponse1.of(
        consent(ConsentStatus.AUTHORISED), "https://bank/x", EXPIRES + timedelta(seconds=1)
    )
    assert (response.Data.Status, response.Data.StatusUpdateDateTime) == ("EXPD", EXPIRES)
    before = OBReadConsentResponse1.of(
        consent(ConsentStatus.AUTHORISED), "https://bank/x", EXPIRES - timedelta(seconds=1)
    )
    assert before.Data.Status == "AUTH"


def test_an_awaiting_consent_lapses_at_its_expiry_or_its_authorisation_window_whichever_comes_first() -> None:
    soon = CREATED + timedelta(minutes=30)
    expiring = OBReadConsentResponse1.of(consent(ConsentStatus.AWAITING_AUTHORISATION, soon), "https://bank/x", soon)
    assert (expiring.Data.Status, expiring.Data.StatusUpdateDateTime) == ("EXPD", soon)
    unanswered = OBReadConsentResponse1.of(consent(ConsentStatus.AWAITING_AUTHORISATION), "https://bank/x", EXPIRES)
    assert (unanswered.Data.Status, unanswered.Data.StatusUpdateDateTime) == ("RJCT", CREATED + timedelta(hours=1))


def test_an_expired_consent_as_core_banking_reads_it_is_expd() -> None:
    response = OBReadConsentResponse1.of(consent(ConsentStatus.EXPIRED), "https://bank/x", EXPIRES)
    assert response.Data.Status == "EXPD"


def test_an_ended_consent_keeps_its_status_after_the_expiry() -> None:
    response = OBReadConsentResponse1.of(consent(ConsentStatus.REVOKED), "https://bank/x", EXPIRES + timedelta(days=1))
    assert response.Data.Status == "CANC"
    open_ended = replace(consent(ConsentStatus.AUTHORISED), details=AccountAccessDetails((Permission.READ_PAN,)))
    assert OBReadConsentResponse1.of(open_ended, "https://bank/x", EXPIRES + timedelta(days=999)).Data.Status == "AUTH"
