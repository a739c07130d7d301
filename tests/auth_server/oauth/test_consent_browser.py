"""A real browser (headless Chromium over HTTPS): a demo customer signs in with TOTP and approves a payment."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
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
from obank.certs import init_development_certificates
from obank.runtime import build_platform
from obank.server import TLSFiles, bind_socket, build_server, run_server
from obank.settings import PROJECT_ROOT, Settings
from tests.auth_server.oauth.flow import PAYEE, payment_consent, pkce
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


async def _seed_and_push(settings: Settings, base_url: str) -> tuple[dict[str, Any], str, str]:
    """Seed the demo, create a payment consent for the demo TPP and push its authorization request."""
    platform = build_platform(settings)
    try:
        demo = json.loads((await seed_and_write_demo(platform, settings.public_base_url())).read_text())
        tpp = demo["clients"]["tpp"]
        consent = await payment_consent(platform, tpp["client_id"], amount_minor=4_210)
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
        "scope": "openid payments",
        "state": "browser-state",
        "nonce": "browser-nonce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "authorization_details": json.dumps([{"type": "payment_initiation", "consent_id": consent.id}]),
        "client_assertion_type": JWT_BEARER_ASSERTION,
        "client_assertion": assertion,
    }
    cert = (_path(tpp["certificate"]), settings.certs_dir / "tpp-demo.key")
    context = ssl.create_default_context(cafile=settings.certs_dir / "ca.pem")
    context.load_cert_chain(*cert)
    async with httpx.AsyncClient(verify=context) as http:
        response = await http.post(base_url + PAR_PATH, data=form)
    assert response.status_code == 201, response.text
    return demo, tpp["client_id"], response.json()["request_uri"]


def _path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def _read(value: str) -> bytes:
    return _path(value).read_bytes()


def test_a_demo_customer_approves_a_payment_in_chromium(settings: Settings, https_url: str) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        missing_service("chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import Route, expect, sync_playwright
    except ImportError:
        missing_service("the playwright package")
        raise
    demo, client_id, request_uri = asyncio.run(_seed_and_push(settings, https_url))
    customer = demo["customers"][0]
    redirect_uri = demo["clients"]["tpp"]["redirect_uri"]
    ARTIFACTS.mkdir(exist_ok=True)
    landed: list[str] = []

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
        expect(page.locator("#payee")).to_have_text(PAYEE)
        expect(page.locator("#amount")).to_have_text("42.10 GBP")
        page.screenshot(path=str(ARTIFACTS / "oauth-consent-payment.png"), full_page=True)
        page.get_by_role("button", name="Allow", exact=True).click()
        page.wait_for_url(redirect_uri + "*")
        expect(page.get_by_role("heading", name="Back at the TPP")).to_be_visible()
        browser.close()

    (url,) = landed
    params = parse_qs(urlsplit(url).query)
    assert params["code"][0] and params["state"] == ["browser-state"]
    assert params["iss"] == [settings.public_base_url()]
