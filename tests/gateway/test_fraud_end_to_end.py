"""Fraud operations end to end through the composed gateway over TLS: an analyst lists a mule account, the demo
customer's payment to it is stopped, the alert it raised carries the payment's interaction id, and the analyst
works it to a resolution from the staff device; other staff are refused."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from bank.jobs import consumer_registry
from obank.outbox.worker import run_worker
from obank.settings import Settings
from tests.auth_server.oauth.conftest import Pki
from tests.gateway.scenarios import customer_login, staff_login
from tests.gateway.test_staff_end_to_end import demo_bank, dev_pki

__all__ = ["dev_pki"]

MULE = {"name": "Alan Turing", "sort_code": "400515", "account_number": "76262352"}


async def _until(check: Any, timeout: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := await check()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)
    return found


@pytest.mark.usefixtures("dev_pki")
async def test_an_analyst_lists_a_mule_the_payment_to_it_is_stopped_and_its_alert_resolved(
    settings: Settings, database_url: str, dev_pki: Pki
) -> None:
    async with demo_bank(settings, database_url, dev_pki) as bank:
        platform = bank.running.platform
        device = bank.device()
        analyst = {"authorization": f"Bearer {await staff_login(device, bank.demo, 'fraud_analyst')}"}
        mule = MULE["sort_code"] + MULE["account_number"]
        listed = await device.post(
            "/admin/v1/fraud/mule-accounts", headers=analyst, json={"creditor_account": mule, "reason": "Case 7"}
        )
        assert listed.status_code == 201, listed.text

        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(platform, consumer_registry(platform), stop=stop, handle_signals=False))
        try:
            app = bank.running.http()
            # The second demo customer (the first has the demo's own fraud case, on an alert of its own).
            payer = bank.demo["customers"][1]
            paying = next(account["id"] for account in payer["accounts"] if account["currency"] == "GBP")
            customer = {"authorization": f"Bearer {await customer_login(app, bank.demo, 1)}"}
            interaction_id = str(uuid.uuid4())
            payee = {"name": MULE["name"], "sort_code": MULE["sort_code"], "account_number": MULE["account_number"]}
            body = {"debtor_account_id": paying, "amount_minor": 2_000, "currency": "GBP", "payee": payee}
            headers = customer | {"idempotency-key": str(uuid.uuid4()), "x-fapi-interaction-id": interaction_id}
            paid = await app.post("/api/v1/payments", headers=headers, json=body)
            assert paid.status_code == 202, paid.text
            payment_id = paid.json()["id"]

            async def stopped() -> dict[str, Any] | None:
                shown = (await app.get(f"/api/v1/payments/{payment_id}", headers=customer)).json()
                return shown if shown["status"] == "RJCT" else None

            shown = await _until(stopped)
            assert shown["reason"] == "FRAD" and "fraud" in shown["reason_text"]

            async def alert() -> list[dict[str, Any]]:
                found = await device.get(
                    "/admin/v1/fraud/alerts", headers=analyst, params={"customer_id": payer["customer_id"]}
                )
                assert found.status_code == 200, found.text
                return list(found.json()["alerts"] if isinstance(found.json(), dict) else found.json())

            (raised,) = await _until(alert)
        finally:
            stop.set()
            await worker

        demo_case = await device.get(
            "/admin/v1/fraud/alerts", headers=analyst, params={"customer_id": bank.customer["customer_id"]}
        )
        assert [alert["recommendation"] for alert in demo_case.json()] == ["BLOCK"]  # the demo's own case
        detail = (await device.get(f"/admin/v1/fraud/alerts/{raised['id']}", headers=analyst)).json()
        assert detail["correlation_id"] == interaction_id and detail["recommendation"] == "BLOCK"
        assert [p["payment_id"] for p in detail["payments"]] == [payment_id]
        assert "mule_account" in {rule["rule"] for rule in detail["rules"]}
        claimed = await device.post(f"/admin/v1/fraud/alerts/{raised['id']}/claim", headers=analyst)
        assert claimed.status_code == 200 and claimed.json()["status"] == "INVESTIGATING", claimed.text
        resolved = await device.post(
            f"/admin/v1/fraud/alerts/{raised['id']}/resolve",
            headers=analyst,
            json={"outcome": "FRAUD", "note": "Customer confirmed an impersonation call"},
        )
        assert resolved.status_code == 200 and resolved.json()["status"] == "RESOLVED", resolved.text

        support = {"authorization": f"Bearer {await staff_login(bank.device(), bank.demo, 'support')}"}
        refused = await bank.device().get("/admin/v1/fraud/alerts", headers=support)
        assert refused.status_code == 403 and refused.json()["code"] == "insufficient_role", refused.text
