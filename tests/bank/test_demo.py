"""The demo bank: seeded idempotently, written to demo.json in the documented shape."""

from __future__ import annotations

import json
import stat

from sqlalchemy import text

from audit.verify import verify_chain
from bank.demo import seed_and_write_demo
from obank.runtime import Platform


async def test_demo_is_seeded_once_with_funded_accounts(platform: Platform) -> None:
    path = await seed_and_write_demo(platform, "https://127.0.0.1:9443")
    first = json.loads(path.read_text())
    again = json.loads((await seed_and_write_demo(platform, "https://127.0.0.1:9444")).read_text())

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(first) >= {"issuer", "ca_cert", "customers", "staff", "clients"}
    assert again["issuer"] == "https://127.0.0.1:9444"
    assert again["customers"] == first["customers"]
    assert len(first["customers"]) >= 2
    assert {len(staff["totp_secret"]) for staff in first["staff"]} != set()
    assert {role for staff in first["staff"] for role in staff["roles"]} >= {"admin", "fraud_analyst"}
    async with platform.sessions() as session:
        for customer in first["customers"]:
            assert customer["username"]
            assert customer["password"]
            assert customer["totp_secret"]
            assert len(customer["accounts"]) >= 2
            for account in customer["accounts"]:
                assert set(account) >= {"id", "currency"}
                balance = await session.scalar(
                    text("SELECT booked_balance_minor FROM core_banking.accounts WHERE id = :id"),
                    {"id": account["id"]},
                )
                assert balance is not None
                assert balance > 0
        deposits = await session.scalar(text("SELECT count(*) FROM core_banking.journal_entries"))
    async with platform.sessions() as session:
        report = await verify_chain(session, platform.keyring)
    assert report.intact
    assert deposits == sum(len(c["accounts"]) for c in first["customers"])  # the second run moved no money
