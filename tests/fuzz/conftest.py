"""The fuzzed bank: the whole gateway over TLS on one database, its demo, real tokens, and the examples budget.

The default run sends a few derandomized requests per operation (CI). `--fuzz-long`, or `OBANK_FUZZ_EXAMPLES=N`,
sends more (humans, nightly): `pytest tests/fuzz --fuzz-long` or `OBANK_FUZZ_EXAMPLES=200 pytest tests/fuzz`.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bank.demo import seed_and_write_demo
from tests.auth_server.oauth.conftest import Pki, pki, shared_database_url
from tests.fuzz.documents import Document, public_documents
from tests.fuzz.tokens import Tokens, obtain_tokens
from tests.gateway.harness import RunningGateway, serving_gateway

__all__ = ["pki", "shared_database_url"]

DEFAULT_EXAMPLES = 2
LONG_EXAMPLES = 200


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz-long",
        action="store_true",
        default=False,
        help=f"fuzz with {LONG_EXAMPLES} examples per operation and mode (OBANK_FUZZ_EXAMPLES sets any number)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: Schemathesis runs; longer with --fuzz-long or OBANK_FUZZ_EXAMPLES")


def examples_per_operation(config: pytest.Config) -> int:
    """Requests per operation and generation mode: the environment's number, else the flag's, else a few."""
    if "OBANK_FUZZ_EXAMPLES" in os.environ:
        return int(os.environ["OBANK_FUZZ_EXAMPLES"])
    return LONG_EXAMPLES if config.getoption("--fuzz-long") else DEFAULT_EXAMPLES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A long run has no time limit; the default one keeps the suite's."""
    if examples_per_operation(config) > DEFAULT_EXAMPLES:
        for item in items:
            if item.get_closest_marker("fuzz"):
                item.add_marker(pytest.mark.timeout(0))


@pytest.fixture(scope="session")
def fuzz_examples(pytestconfig: pytest.Config) -> int:
    return examples_per_operation(pytestconfig)


@dataclass(frozen=True)
class FuzzedBank:
    """The running gateway, its public documents and every family's tokens."""

    gateway: RunningGateway
    documents: list[Document]
    tokens: Tokens


@pytest.fixture(scope="module")
async def fuzzed_bank(
    tmp_path_factory: pytest.TempPathFactory, shared_database_url: str, pki: Pki
) -> AsyncIterator[FuzzedBank]:
    """`obank serve`'s app over TLS with the demo seeded; rate limits off (the fuzzer is every caller at once)."""
    directory = tmp_path_factory.mktemp("fuzz")
    async with serving_gateway(directory, shared_database_url, pki, rate_limits_enabled=False) as gateway:
        demo = json.loads((await seed_and_write_demo(gateway.platform, gateway.issuer)).read_text())
        tokens = await obtain_tokens(gateway, demo)
        yield FuzzedBank(gateway, await public_documents(gateway), tokens)
