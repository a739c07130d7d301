"""Schemathesis against every public OpenAPI document, through the whole gateway with each family's real tokens.

No input may earn a 5xx, and every answer must be one its document declares: its status, its media type and
its body's schema. A failure lists each operation's first failing request with a curl command that replays it.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.fuzz.conftest import FuzzedBank
from tests.fuzz.documents import Document
from tests.fuzz.runner import Failure, fuzz_document, tls_session
from tests.fuzz.tokens import STAFF_DEVICE, TPP_CERT

# Each family's documents, and the client certificate its legitimate callers present.
GROUPS = {"api-v1": None, "admin-v1": STAFF_DEVICE, "oauth": TPP_CERT, "open-banking": TPP_CERT}


def group_of(document: Document) -> str:
    """The family group a document belongs to: its own name for first-party, admin and OAuth; else Open Banking."""
    return document.family if document.family in GROUPS else "open-banking"


@pytest.mark.fuzz
@pytest.mark.parametrize("group", list(GROUPS))
async def test_every_operation_answers_as_its_document_says(
    fuzzed_bank: FuzzedBank, fuzz_examples: int, group: str
) -> None:
    documents = [document for document in fuzzed_bank.documents if group_of(document) == group]
    assert documents, f"no public OpenAPI document of {group}"
    gateway = fuzzed_bank.gateway
    cert = GROUPS[group]
    session = tls_session(gateway.pki.ca_file, None if cert is None else gateway.pki.pair(cert))
    started = time.monotonic()
    sent, waited, failures = 0, 0.0, list[Failure]()
    for document in documents:
        tokens = fuzzed_bank.tokens
        count, seconds, found = await asyncio.to_thread(
            fuzz_document, document, gateway.issuer, session, tokens.for_request, tokens.known_values, fuzz_examples
        )
        sent, waited, failures = sent + count, waited + seconds, failures + found
    session.close()
    print(f"{group}: {sent} requests in {time.monotonic() - started:.1f} s, {waited:.1f} s of it waiting for answers")
    assert sent > 0
    assert not failures, f"{len(failures)} failing operations:\n" + "\n".join(map(str, failures))
