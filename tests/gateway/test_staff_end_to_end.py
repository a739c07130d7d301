"""Bank staff end to end through the composed gateway over TLS: console sign-in, admin routes from the device."""

from __future__ import annotations

import base64
import json
import ssl
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from audit.models import AuditRecord
from bank.demo import seed_and_write_demo
from obank.certs import OTHER_TPP, STAFF_DEVICE, init_development_certificates
from obank.server import TLSFiles
from obank.settings import PROJECT_ROOT, Settings
from tests.auth_server.oauth.conftest import Pki
from tests.gateway.harness import RunningGateway, start_gateway
from tests.gateway.scenarios import customer_login, staff_login


@pytest.fixture
def dev_pki(settings: Settings) -> Pki:
    """`obank certs init`'s development PKI: the server trusts the dev CA, which issued the staff device's cert."""
    init_development_certificates(settings.certs_dir)
    certs = settings.certs_dir
    ca = certs / "ca.pem"
    return Pki(certs, ca, ca, TLSFiles(certs / "server.pem", certs / "server.key", client_ca_file=ca))


@dataclass
class Bank:
    """The running gateway, the demo it was seeded with, and HTTPS clients as the demo file describes them."""

    running: RunningGateway
    demo: dict[str, Any]
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def _path(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else PROJECT_ROOT / path

    def device(self) -> httpx.AsyncClient:
        """The staff console on its managed device: trusts the demo CA, presents the device certificate."""
        console = self.demo["clients"]["staff_console"]
        context = ssl.create_default_context(cafile=self._path(self.demo["ca_cert"]))
        context.load_cert_chain(self._path(console["certificate"]), self._path(console["private_key"]))
        client = httpx.AsyncClient(base_url=self.running.issuer, verify=context, timeout=10.0)
        self.clients.append(client)
        return client

    @property
    def customer(self) -> dict[str, Any]:
        customer: dict[str, Any] = self.demo["customers"][0]
        return customer

    @property
    def gbp_account(self) -> str:
        account_id: str = next(a["id"] for a in self.customer["accounts"] if a["currency"] == "GBP")
        return account_id


@asynccontextmanager
async def demo_bank(settings: Settings, database_url: str, pki: Pki) -> AsyncIterator[Bank]:
    running, task, server = await start_gateway(settings, database_url, pki)
    try:
        demo = json.loads((await seed_and_write_demo(running.platform, running.issuer)).read_text())
        bank = Bank(running, demo)
        try:
            yield bank
        finally:
            for client in bank.clients:
                await client.aclose()
    finally:
        await running.aclose()
        server.should_exit = True
        await task
        await running.platform.close()


def _deposit(amount_minor: int, description: str) -> dict[str, Any]:
    return {"amount_minor": amount_minor, "currency": "GBP", "description": description}


async def _booked(client: httpx.AsyncClient, auth: dict[str, str], account_id: str) -> int:
    """The account's booked balance as staff see it through the admin API."""
    response = await client.get(f"/admin/v1/accounts/{account_id}", headers=auth)
    assert response.status_code == 200, response.text
    booked: int = response.json()["balances"]["booked_minor"]
    return booked


def _subject(token: str) -> str:
    """The `sub` of a JWT the server issued (read, not verified: the gateway verified it)."""
    payload = token.split(".")[1]
    subject: str = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
    return subject


def _refused(response: httpx.Response, status: int, reason: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == reason, response.text


async def test_the_demo_admin_reads_a_customer_and_deposits_cash_from_the_staff_device(
    settings: Settings, database_url: str, dev_pki: Pki
) -> None:
    async with demo_bank(settings, database_url, dev_pki) as bank:
        device = bank.device()
        token = await staff_login(device, bank.demo, "admin")
        auth = {"authorization": f"Bearer {token}"}

        read = await device.get(f"/admin/v1/customers/{bank.customer['customer_id']}", headers=auth)
        before = await _booked(device, auth, bank.gbp_account)
        interaction_id, key = str(uuid.uuid4()), str(uuid.uuid4())
        body = _deposit(25_000, "Cash paid in at the counter")
        headers = auth | {"idempotency-key": key, "x-fapi-interaction-id": interaction_id}
        deposited = await device.post(f"/admin/v1/accounts/{bank.gbp_account}/deposits", headers=headers, json=body)
        replayed = await device.post(
            f"/admin/v1/accounts/{bank.gbp_account}/deposits", headers=auth | {"idempotency-key": key}, json=body
        )

        assert read.status_code == 200, read.text
        assert read.json()["id"] == bank.customer["customer_id"] and read.json()["email"] == bank.customer["email"]
        assert deposited.status_code == 201, deposited.text
        assert deposited.headers["x-fapi-interaction-id"] == interaction_id
        booked = deposited.json()
        assert booked["kind"] == "DEPOSIT" and booked["account_id"] == bank.gbp_account
        assert (booked["amount_minor"], booked["currency"]) == (25_000, "GBP")
        assert replayed.status_code == 201 and replayed.headers.get("idempotent-replayed") == "true"
        assert replayed.json() == booked
        assert booked["balances"]["booked_minor"] == before + 25_000
        assert await _booked(device, auth, bank.gbp_account) == before + 25_000  # booked once
        async with bank.running.platform.sessions() as session:
            audited = list(
                await session.scalars(select(AuditRecord).where(AuditRecord.correlation_id == interaction_id))
            )
        # The deposit is audited as done by the admin who signed in, under the caller's interaction id.
        assert audited and {(record.actor_kind, record.actor_id) for record in audited} == {("staff", _subject(token))}


async def test_the_admin_token_needs_the_device_certificate_it_is_bound_to(
    settings: Settings, database_url: str, dev_pki: Pki
) -> None:
    async with demo_bank(settings, database_url, dev_pki) as bank:
        token = await staff_login(bank.device(), bank.demo, "admin")
        auth = {"authorization": f"Bearer {token}"}
        customer_path = f"/admin/v1/customers/{bank.customer['customer_id']}"
        deposit_path = f"/admin/v1/accounts/{bank.gbp_account}/deposits"
        before = await _booked(bank.device(), auth, bank.gbp_account)

        for cert, reason in ((None, "certificate_missing"), (OTHER_TPP.name, "certificate_mismatch")):
            client = bank.running.http(cert)
            read = await client.get(customer_path, headers=auth)
            deposit = await client.post(
                deposit_path, headers=auth | {"idempotency-key": str(uuid.uuid4())}, json=_deposit(100, "Stolen")
            )

            for response in (read, deposit):
                _refused(response, 401, reason)
                assert 'error="invalid_token"' in response.headers["www-authenticate"]
        # The device's certificate, found by its demo name, still works; nothing was deposited meanwhile.
        assert await _booked(bank.running.http(STAFF_DEVICE.name), auth, bank.gbp_account) == before


async def test_a_staff_member_without_the_admin_role_reads_but_cannot_deposit(
    settings: Settings, database_url: str, dev_pki: Pki
) -> None:
    async with demo_bank(settings, database_url, dev_pki) as bank:
        device = bank.device()
        token = await staff_login(device, bank.demo, "support")
        auth = {"authorization": f"Bearer {token}"}

        read = await device.get(f"/admin/v1/customers/{bank.customer['customer_id']}", headers=auth)
        before = await _booked(device, auth, bank.gbp_account)
        deposit = await device.post(
            f"/admin/v1/accounts/{bank.gbp_account}/deposits",
            headers=auth | {"idempotency-key": str(uuid.uuid4())},
            json=_deposit(100, "Not mine to pay in"),
        )

        assert read.status_code == 200, read.text
        _refused(deposit, 403, "insufficient_role")
        assert await _booked(device, auth, bank.gbp_account) == before


async def test_a_customer_token_is_refused_on_admin_routes(settings: Settings, database_url: str, dev_pki: Pki) -> None:
    async with demo_bank(settings, database_url, dev_pki) as bank:
        app = bank.running.http()  # the bank's own app: no client certificate, so an unbound token
        app_token = await customer_login(app, bank.demo, 0)
        # Another customer signs in from a client presenting the staff device's certificate, the most one could do:
        # the first-party token is then bound to it, and still speaks for a customer.
        device = bank.device()
        bound_token = await customer_login(device, bank.demo, 1)
        attempts = [
            (app, app_token, 401, "unbound_token", "invalid_token"),
            (device, bound_token, 403, "wrong_subject", "insufficient_scope"),
        ]

        for client, token, status, reason, error in attempts:
            auth = {"authorization": f"Bearer {token}"}
            own = await client.get("/api/v1/accounts", headers=auth)
            read = await client.get(f"/admin/v1/customers/{bank.customer['customer_id']}", headers=auth)
            deposit = await client.post(
                f"/admin/v1/accounts/{bank.gbp_account}/deposits",
                headers=auth | {"idempotency-key": str(uuid.uuid4())},
                json=_deposit(100, "Paying myself"),
            )

            assert own.status_code == 200, own.text  # a good token, for the customer's own API
            for response in (read, deposit):
                _refused(response, status, reason)
                assert f'error="{error}"' in response.headers["www-authenticate"]
