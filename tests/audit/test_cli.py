"""`obank audit verify` as an operator runs it: exit 0 on an intact chain, 1 naming the broken record."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from audit.schemas import AppendedRecord
from obank.runtime import Platform
from obank.settings import Settings
from tests.audit.conftest import tamper
from tests.audit.test_verify import TAMPERINGS, expected_record_id


def run_verify(settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OBANK_")}
    env.update(
        OBANK_ENV="test",
        OBANK_DATA_DIR=str(settings.data_dir),
        OBANK_DATABASE_URL=settings.database_url or "",
        OBANK_ENCRYPTION_KEYS=settings.encryption_keys or "",
        OBANK_ACTIVE_ENCRYPTION_KEY_ID=settings.active_encryption_key_id or "",
        COLUMNS="200",
    )
    return subprocess.run(
        [sys.executable, "-m", "bank.cli", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_intact_chain_exits_zero(settings: Settings, chain_of_six: list[AppendedRecord]) -> None:
    result = run_verify(settings)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Audit chain intact" in result.stdout
    assert re.search(r"records verified\s+6\s", result.stdout)


@pytest.mark.parametrize("name", ["modified", "deleted", "inserted", "reordered"])
async def test_tampered_chain_exits_one_naming_the_record(
    settings: Settings, platform: Platform, chain_of_six: list[AppendedRecord], name: str
) -> None:
    tampering = TAMPERINGS[name]
    tamper(platform.database_url, *tampering.statements)

    result = run_verify(settings)

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Audit chain 0 broken ({tampering.kind.value}) at sequence {tampering.sequence}" in result.stdout
    record_id = expected_record_id(chain_of_six, tampering.record_at)
    if record_id is not None:
        assert str(record_id) in result.stdout
