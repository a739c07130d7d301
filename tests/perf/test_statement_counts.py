"""SQL statements per transfer and per token: a regression guard that fails when a request starts costing more."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography import x509
from joserfc.jwk import ECKey
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from auth_server.oauth.app import create_oauth_app
from auth_server.oauth.config import TOKEN_PATH, OAuthConfig
from auth_server.oauth.server import OAuthServer
from bench.tokens import assertion, register_client
from bench.transfers import open_accounts
from core_banking.app import create_app
from obank.certs import certificate_pem, create_certificate_authority, issue_client_certificate
from obank.principal import PRINCIPAL_HEADER, Principal
from obank.runtime import Platform
from obank.settings import Settings

ISSUER = "https://perf.obank.test"
MEASURED = 5  # requests counted after one warm-up request (caches, signing keys)

# Today's counts, measured 2026-12-05. Lower them when a change saves a statement; never raise them silently.
# One transfer (POST /api/v1/transfers between the same customer's accounts, fraud checks approving) is one
# transaction and 6 statements:
#   screening (outside any transaction: autocommit, no BEGIN or COMMIT): both accounts in one SELECT;
#   the booking: the idempotency key claimed, both accounts locked and read (one SELECT ... FOR UPDATE), the
#   journal entry with its postings, balance updates, transfer row and idempotent response (one CTE; the ledger
#   refuses before it, so no savepoint), the audit chain head locked, the audit record with the outbox event.
TRANSFER_STATEMENTS = 6
TRANSFER_COMMITS = 1
# One client_credentials token (private_key_jwt, mTLS-bound, client cached) is 4 statements: the assertion's
# jti claimed (side pool), then the group commit's transaction: the issued token, the audit chain head locked,
# the audit record with the token's outbox event.
TOKEN_STATEMENTS = 4
TOKEN_COMMITS = 1


@dataclass
class StatementLog:
    """Statements and commits seen on the engines while it listens."""

    statements: list[str] = field(default_factory=list)
    commits: int = 0

    def summary(self) -> str:
        return "\n".join(" ".join(statement.split())[:160] for statement in self.statements)


@contextmanager
def counting(*engines: AsyncEngine) -> Iterator[StatementLog]:
    """Record every statement a cursor executes, and every commit, on `engines` (SQLAlchemy core events)."""
    log = StatementLog()

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        log.statements.append(sql)

    def commit(_conn: Any) -> None:
        log.commits += 1

    targets = [engine.sync_engine for engine in engines]
    for target in targets:
        event.listen(target, "before_cursor_execute", statement)
        event.listen(target, "commit", commit)
    try:
        yield log
    finally:
        for target in targets:
            event.remove(target, "before_cursor_execute", statement)
            event.remove(target, "commit", commit)


class WithClientCertificate:
    """The ASGI TLS extension of an mTLS connection presenting `certificate`, as obank.server adds it."""

    def __init__(self, app: ASGIApp, certificate: x509.Certificate) -> None:
        self.app = app
        self.chain = [certificate_pem(certificate).decode("ascii")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["extensions"] = {**(scope.get("extensions") or {}), "tls": {"client_cert_chain": self.chain}}
        await self.app(scope, receive, send)


@pytest.fixture
async def token_endpoint(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """The OAuth app in-process behind a TLS extension carrying a test TPP certificate."""
    ca_cert, ca_key = create_certificate_authority("perf CA")
    certificate, _key = issue_client_certificate(ca_cert, ca_key, "CN=Perf TPP,O=Perf,C=GB")
    server = OAuthServer.build(platform, config=OAuthConfig(issuer=ISSUER))
    app = WithClientCertificate(create_oauth_app(platform, server), certificate)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://as") as client:
        yield client
    await server.close()


async def test_a_client_credentials_token_costs_no_more_statements_than_today(
    platform: Platform, settings: Settings, token_endpoint: httpx.AsyncClient
) -> None:
    key = ECKey.generate_key("P-256", private=True)
    client_id = await register_client(settings, key)

    async def token() -> None:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion(client_id, key, ISSUER),
        }
        response = await token_endpoint.post(TOKEN_PATH, data=form)
        assert response.status_code == 200, response.text

    await token()
    await platform.listener.start()  # the client cache keeps entries only while it hears of changes
    await token()
    with counting(platform.engine, platform.side_engine, platform.statement_engine) as log:
        for _ in range(MEASURED):
            await token()

    statements, commits = len(log.statements) / MEASURED, log.commits / MEASURED
    print(f"per token: {statements} statements, {commits} commits\n{log.summary()}")
    assert statements <= TOKEN_STATEMENTS, log.summary()
    assert commits <= TOKEN_COMMITS


async def test_a_transfer_costs_no_more_statements_than_today(platform: Platform) -> None:
    customer_id, accounts = await open_accounts(platform, 2)
    app = create_app(platform)
    principal = Principal(
        subject=str(customer_id), kind="customer", interaction_id="perf", scopes=frozenset({"payments"})
    )
    headers = {PRINCIPAL_HEADER: app.state.internal_assertions.sign(principal, "core_banking")}
    body = {
        "source_account_id": str(accounts[0]),
        "destination_account_id": str(accounts[1]),
        "amount_minor": 1,
        "currency": "GBP",
        "description": "Perf",
    }
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://core-banking") as client:

        async def transfer() -> None:
            response = await client.post(
                "/api/v1/transfers", json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
            )
            assert response.status_code == 201, response.text

        await transfer()
        with counting(platform.engine, platform.side_engine, platform.statement_engine) as log:
            for _ in range(MEASURED):
                await transfer()

    statements, commits = len(log.statements) / MEASURED, log.commits / MEASURED
    print(f"per transfer: {statements} statements, {commits} commits\n{log.summary()}")
    assert statements <= TRANSFER_STATEMENTS, log.summary()
    assert commits <= TRANSFER_COMMITS
