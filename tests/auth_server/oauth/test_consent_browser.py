"""A real browser (headless Chromium over HTTPS): a demo customer signs in with TOTP and answers each consent kind."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from auth_server.oauth.client_auth.service import JWT_BEARER_ASSERTION
from auth_server.oauth.config import PAR_PATH
from bank.app import create_app
from bank.demo import seed_and_write_demo
from core_banking import facade as core_banking
from obank.certs import init_development_certificates
from obank.runtime import Platform, build_platform
from obank.server import TLSFiles, bind_socket, build_server, run_server
from obank.settings import PROJECT_ROOT, Settings
from tests.auth_server.oauth.flow import PAYEE, funds_consent, get_consent, in_process, payment_consent, pkce
from tests.auth_server.test_browser import ARTIFACTS, CHROMIUM_ARGS, PHONE
from tests.services import missing_service


@pytest.fixture
def https_url(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The whole platform (gateway) over real TLS, in a thread, with the demo data seeded."""
    init_development_certificates(settings.certs_dir)
    # As `obank serve`: client certificates are asked for (optional; browsers send none, TPPs and devices do).
    certs = settings.certs_dir
    files = TLSFiles(certs / "server.pem", certs / "server.key", client_ca_file=certs / "ca.pem")
    platform = build_platform(settings)
    server = build_server(create_app(platform), files, http="h11", graceful_shutdown_s=1)
    sock = bind_socket("127.0.0.1", 0)
    thread = threading.Thread(target=run_server, args=(server, sock), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"https://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    sock.close()


@dataclass(frozen=True)
class ConsentPage:
    """What one kind of consent asks, and what its page must show."""

    kind: str
    scope: str
    authorization_details_type: str
    expected: dict[str, str]  # element id → its text


PAGES = {
    "payment": ConsentPage("payment", "openid payments", "payment_initiation", {"payee": PAYEE, "amount": "42.10 GBP"}),
    "account-access": ConsentPage("account-access", "openid accounts", "account_information", {}),
    "funds-confirmation": ConsentPage("funds-confirmation", "openid fundsconfirmations", "funds_confirmation", {}),
    "funds-confirmation-unknown-account": ConsentPage(
        "funds-confirmation-unknown-account", "openid fundsconfirmations", "funds_confirmation", {}
    ),
}


async def _consent(
    platform: Platform, client_id: str, page: ConsentPage, demo: dict[str, Any]
) -> core_banking.ConsentRecord:
    expires = datetime(2027, 6, 30, tzinfo=UTC)
    if page.kind == "payment":
        return await payment_consent(platform, client_id, amount_minor=4_210)
    if page.kind == "account-access":
        permissions = (
            core_banking.Permission.READ_ACCOUNTS_DETAIL,
            core_banking.Permission.READ_BALANCES,
            core_banking.Permission.READ_TRANSACTIONS_DETAIL,
            core_banking.Permission.READ_TRANSACTIONS_CREDITS,
            core_banking.Permission.READ_TRANSACTIONS_DEBITS,
        )
        details = core_banking.AccountAccessDetails(permissions=permissions, expires_at=expires)
        return await in_process(platform).create_account_access_consent(client_id, details)
    # The first demo customer signs in: a consent naming their second account, or another customer's account.
    holder = demo["customers"][0 if page.kind == "funds-confirmation" else 1]
    account_id = uuid.UUID(holder["accounts"][-1]["id"])
    return await funds_consent(platform, client_id, account_id, expires_at=expires)


async def _seed_and_push(
    settings: Settings, base_url: str, page: ConsentPage
) -> tuple[dict[str, Any], str, str, core_banking.ConsentRecord]:
    """Seed the demo, create a consent of the page's kind for the demo TPP and push its authorization request."""
    platform = build_platform(settings)
    try:
        demo = json.loads((await seed_and_write_demo(platform, settings.public_base_url())).read_text())
        tpp = demo["clients"]["tpp"]
        consent = await _consent(platform, tpp["client_id"], page, demo)
    finally:
        await platform.close()
    key = ECKey.import_key(_read(tpp["private_key"]))
    now = int(time.time())
    claims = {"iss": tpp["client_id"], "sub": tpp["client_id"], "aud": settings.public_base_url()}
    assertion = jwt.encode(
        {"alg": "ES256", "kid": tpp["key_id"]},
        {**claims, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())},
        key,
        algorithms=["ES256"],
    )
    _, challenge = pkce()
    form = {
        "response_type": "code",
        "client_id": tpp["client_id"],
        "redirect_uri": tpp["redirect_uri"],
        "scope": page.scope,
        "state": "browser-state",
        "nonce": "browser-nonce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "authorization_details": json.dumps([{"type": page.authorization_details_type, "consent_id": consent.id}]),
        "client_assertion_type": JWT_BEARER_ASSERTION,
        "client_assertion": assertion,
    }
    cert = (_path(tpp["certificate"]), settings.certs_dir / "tpp-demo.key")
    context = ssl.create_default_context(cafile=settings.certs_dir / "ca.pem")
    context.load_cert_chain(*cert)
    async with httpx.AsyncClient(verify=context) as http:
        response = await http.post(base_url + PAR_PATH, data=form)
    assert response.status_code == 201, response.text
    return demo, tpp["client_id"], response.json()["request_uri"], consent


async def _consent_after(settings: Settings, consent_id: str) -> core_banking.ConsentRecord:
    platform = build_platform(settings)
    try:
        return await get_consent(platform, consent_id)
    finally:
        await platform.close()


def _path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def _read(value: str) -> bytes:
    return _path(value).read_bytes()


@pytest.mark.parametrize("page_kind", list(PAGES))
def test_a_demo_customer_answers_each_kind_of_consent_in_chromium(
    settings: Settings, https_url: str, page_kind: str
) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        missing_service("chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import Route, expect, sync_playwright
    except ImportError:
        missing_service("the playwright package")
        raise
    asked = PAGES[page_kind]
    demo, client_id, request_uri, consent = asyncio.run(_seed_and_push(settings, https_url, asked))
    customer = demo["customers"][0]
    redirect_uri = demo["clients"]["tpp"]["redirect_uri"]
    ARTIFACTS.mkdir(exist_ok=True)
    landed: list[str] = []
    answerable = page_kind != "funds-confirmation-unknown-account"

    def tpp_callback(route: Route) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>Demo TPP</title><h1>Back at the TPP</h1>")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(ignore_https_errors=True, viewport=PHONE)
        page = context.new_page()
        page.route(redirect_uri + "*", tpp_callback)
        page.goto(
            f"{https_url}/oauth2/authorize?" + str(httpx.QueryParams(client_id=client_id, request_uri=request_uri))
        )

        page.wait_for_url("**/login?*")
        page.get_by_label("Username").fill(customer["username"])
        page.get_by_label("Password").fill(customer["password"])
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url("**/login/otp")
        page.get_by_label("Authentication code").fill(pyotp.TOTP(customer["totp_secret"]).now())
        page.get_by_role("button", name="Verify").click()

        expect(page.get_by_role("heading", name="Allow Demo TPP?")).to_be_visible()
        for element, text in asked.expected.items():
            expect(page.locator(f"#{element}")).to_have_text(text)
        if page_kind == "account-access":
            expect(page.get_by_role("heading", name="Information shared")).to_be_visible()
            expect(page.get_by_text("Until 30 June 2027.")).to_be_visible()
            expect(page.get_by_role("checkbox")).to_have_count(len(customer["accounts"]))
        if page_kind.startswith("funds-confirmation"):
            expect(page.get_by_role("heading", name="Funds check")).to_be_visible()
            expect(page.locator("#funds-expires")).to_have_text("30 June 2027")
            expect(page.get_by_role("checkbox")).to_have_count(0)
            expect(page.get_by_role("radio")).to_have_count(0)
        if page_kind == "funds-confirmation":
            named = demo["customers"][0]["accounts"][-1]
            expect(page.locator("#named-account")).to_contain_text(named["currency"])
        if not answerable:
            expect(page.locator("#no-named-account")).to_be_visible()
            expect(page.get_by_role("button", name="Allow", exact=True)).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / f"oauth-consent-{page_kind}.png"), full_page=True)
        page.get_by_role("button", name="Allow" if answerable else "Do not allow", exact=True).click()
        page.wait_for_url(redirect_uri + "*")
        expect(page.get_by_role("heading", name="Back at the TPP")).to_be_visible()
        browser.close()

    (url,) = landed
    params = parse_qs(urlsplit(url).query)
    assert params["state"] == ["browser-state"] and params["iss"] == [settings.public_base_url()]
    answered = asyncio.run(_consent_after(settings, consent.id))
    if answerable:
        assert params["code"][0]
        assert answered.status is core_banking.ConsentStatus.AUTHORISED
    else:
        assert params["error"] == ["access_denied"]
        assert answered.status is core_banking.ConsentStatus.REJECTED
    if page_kind == "funds-confirmation":
        assert answered.account_ids == (uuid.UUID(demo["customers"][0]["accounts"][-1]["id"]),)
