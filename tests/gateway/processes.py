"""`obank serve` processes for tests: the local deployment launcher, with the test suite's keys."""

from __future__ import annotations

from pathlib import Path

from bank.local_deployment import (
    Deployment,
    ObankProcess,
    Spec,
    assertions_for,
    internal_signing_key,
    running,
    start_obank,
    stop_obank,
    wait_ready,
)
from tests.conftest import TEST_KEYS

__all__ = [
    "Deployment",
    "ObankProcess",
    "Spec",
    "assertions_for",
    "deployment_with_test_keys",
    "internal_signing_key",
    "running",
    "start_obank",
    "stop_obank",
    "wait_ready",
]


def deployment_with_test_keys(home: Path, database_url: str) -> Deployment:
    """A deployment on the test's database whose processes hold the test suite's keys (tests read their data)."""
    return Deployment(
        home=home,
        database_url=database_url,
        signing_key=internal_signing_key(),
        encryption_keys=dict(TEST_KEYS),
        active_encryption_key_id="test-1",
        env="test",
    )
