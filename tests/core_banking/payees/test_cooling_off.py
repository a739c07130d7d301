"""A new payee's cooling-off lasts `OBANK_PAYEES_COOLING_OFF_S` from the moment it is added."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from obank.settings import Settings
from tests.core_banking.payees.conftest import ALAN, People, ScaHeaders, checked_and_added


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"payees_cooling_off_s": 3_600})


async def test_the_cooling_off_follows_the_setting(
    client: httpx.AsyncClient, sca_headers: ScaHeaders, people: People
) -> None:
    payee = await checked_and_added(client, sca_headers(people.payer.id), ALAN)

    created = datetime.fromisoformat(payee["created_at"])
    assert datetime.fromisoformat(payee["cooling_off_until"]) == created + timedelta(hours=1)


def test_the_defaults_are_a_day_and_a_hundred_pounds() -> None:
    defaults = Settings()
    assert (defaults.payees_cooling_off_s, defaults.payees_cooling_off_limit_minor) == (86_400, 10_000)
    assert defaults.payees_confirmation_validity_s == 900
