"""Through the composed gateway over TLS: a demo customer signs in and sees their session as current; the demo
support agent, on the staff device, finds their login and grants and signs their sessions out."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

from bank.demo import seed_and_write_demo
from obank.certs import init_development_certificates
from obank.server import TLSFiles
from obank.settings import PROJECT_ROOT, Settings
from tests.auth_server.oauth.conftest import Pki
from tests.gateway.harness import start_gateway
from tests.gateway.scenarios import customer_login, staff_login


@pytest.fixture
def dev_pki(settings: Settings) -> Pki:
    """`obank certs init`'s development PKI: the server trusts the dev CA, which issued the staff device's cert."""
    init_development_certificates(settings.certs_dir)
    certs = settings.certs_dir
    ca = certs / "ca.pem"
    return Pki(certs, ca, ca, TLSFiles(certs / "server.pem", certs / "server.key", client_ca_file=ca))


def _device(base_url: str, demo: dict[str, Any]) -> httpx.AsyncClient:
    """The staff console on its managed device: trusts the demo CA, presents the device certificate."""

    def path(value: str) -> Path:
        return Path(value) if Path(value).is_absolute() else PROJECT_ROOT / value

    console = demo["clients"]["staff_console"]
    context = ssl.create_default_context(cafile=path(demo["ca_cert"]))
    context.load_cert_chain(path(console["certificate"]), path(console["private_key"]))
    return httpx.AsyncClient(base_url=base_url, verify=context, timeout=10.0)


async def test_a_customers_sessions_and_grants_through_the_gateway(
    settings: Settings, database_url: str, dev_pki: Pki
) -> None:
    running, task, server = await start_gateway(settings, database_url, dev_pki)
    try:
        demo = json.loads((await seed_and_write_demo(running.platform, running.issuer)).read_text())
        customer_id = demo["customers"][0]["customer_id"]
        browser = running.http()
        customer = {"authorization": f"Bearer {await customer_login(browser, demo)}"}

        mine = await browser.get("/api/v1/sessions", headers=customer)

        assert mine.status_code == 200, mine.text
        (session,) = mine.json()["sessions"]
        assert session["current"] is True and session["stage"] == "authenticated"

        async with _device(running.issuer, demo) as device:
            staff = {"authorization": f"Bearer {await staff_login(device, demo, 'support')}"}
            found = await device.get("/admin/v1/identities", params={"customer_id": customer_id}, headers=staff)
            assert found.status_code == 200, found.text
            (login,) = found.json()["identities"]
            assert login["totp_enrolled"] is True
            grants = await device.get("/admin/v1/grants", params={"customer_id": customer_id}, headers=staff)
            assert grants.status_code == 200, grants.text
            assert any(grant["first_party"] and grant["status"] == "ACTIVE" for grant in grants.json()["grants"])
            revoked = await device.post(
                f"/admin/v1/identities/{login['id']}/sessions/revocation",
                json={"reason": "Customer asked to be signed out everywhere"},
                headers=staff,
            )
            assert revoked.status_code == 200, revoked.text
            assert revoked.json()["sessions_ended"] >= 1
            # A customer's token is refused on the staff API at the gateway already.
            refused = await browser.get(f"/admin/v1/identities/{login['id']}", headers=customer)
            assert refused.status_code in (401, 403), refused.text

        # The customer's app was signed in through the revoked session: its token went with it.
        after = await browser.get("/api/v1/sessions", headers=customer)
        assert after.status_code == 401, after.text
    finally:
        await running.aclose()
        server.should_exit = True
        await task
        await running.platform.close()
