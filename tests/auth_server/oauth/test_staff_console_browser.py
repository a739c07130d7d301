"""A real browser (headless Chromium over HTTPS): a demo staff member signs in to the demo staff console.

Chromium applies CSP form-action to every redirect a form submission leads to, so the console's code can
only arrive after a form whose page allows the console's origin: the staff member's "Continue".
"""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp

from auth_server.oauth.config import PAR_PATH, TOKEN_PATH
from bank.demo import seed_and_write_demo
from obank.runtime import build_platform
from obank.settings import Settings
from tests.auth_server.oauth.flow import pkce
from tests.auth_server.oauth.test_consent_browser import https_url
from tests.auth_server.test_browser import ARTIFACTS, CHROMIUM_ARGS, DESKTOP
from tests.services import missing_service

__all__ = ["https_url"]  # the whole platform over TLS, shared with the customer's browser test


async def _seed_and_push(settings: Settings, base_url: str) -> tuple[dict[str, Any], str, str]:
    """Seed the demo and push the staff console's authorization request (a public client: client_id only)."""
    platform = build_platform(settings)
    try:
        demo = json.loads((await seed_and_write_demo(platform, settings.public_base_url())).read_text())
    finally:
        await platform.close()
    console = demo["clients"]["staff_console"]
    verifier, challenge = pkce()
    form = {
        "response_type": "code",
        "client_id": console["client_id"],
        "redirect_uri": console["redirect_uri"],
        "scope": "openid",
        "state": "console-state",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=settings.certs_dir / "ca.pem")) as http:
        response = await http.post(base_url + PAR_PATH, data=form)
    assert response.status_code == 201, response.text
    return demo, response.json()["request_uri"], verifier


async def _redeem(settings: Settings, base_url: str, console: dict[str, str], code: str, verifier: str) -> Any:
    form = {"grant_type": "authorization_code", "client_id": console["client_id"], "code": code}
    form |= {"redirect_uri": console["redirect_uri"], "code_verifier": verifier}
    context = ssl.create_default_context(cafile=settings.certs_dir / "ca.pem")
    context.load_cert_chain(console["certificate"], console["private_key"])  # the staff device's certificate
    async with httpx.AsyncClient(verify=context) as http:
        return (await http.post(base_url + TOKEN_PATH, data=form)).json()


def test_a_demo_staff_member_signs_in_to_the_staff_console_in_chromium(settings: Settings, https_url: str) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        missing_service("chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import Route, expect, sync_playwright
    except ImportError:
        missing_service("the playwright package")
        raise
    demo, request_uri, verifier = asyncio.run(_seed_and_push(settings, https_url))
    staff = next(s for s in demo["staff"] if "admin" in s["roles"])
    console = demo["clients"]["staff_console"]
    ARTIFACTS.mkdir(exist_ok=True)
    landed: list[str] = []

    def console_callback(route: Route) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>Console</title><h1>Staff console</h1>")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(ignore_https_errors=True, viewport=DESKTOP)
        page = context.new_page()
        page.route(console["redirect_uri"] + "*", console_callback)
        query = str(httpx.QueryParams(client_id=console["client_id"], request_uri=request_uri))
        page.goto(f"{https_url}/oauth2/authorize?{query}")

        page.wait_for_url("**/staff/login?*")
        page.get_by_label("Username").fill(staff["username"])
        page.get_by_label("Password").fill(staff["password"])
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url("**/login/otp")
        page.get_by_label("Authentication code").fill(pyotp.TOTP(staff["totp_secret"]).now())
        page.get_by_role("button", name="Verify").click()

        expect(page.get_by_role("heading", name="Continue to obank staff console?")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "oauth-staff-console-continue.png"), full_page=True)
        page.get_by_role("button", name="Continue", exact=True).click()
        page.wait_for_url(console["redirect_uri"] + "*")
        expect(page.get_by_role("heading", name="Staff console")).to_be_visible()
        browser.close()

    (url,) = landed
    params = parse_qs(urlsplit(url).query)
    assert params["state"] == ["console-state"] and params["iss"] == [settings.public_base_url()]
    tokens = asyncio.run(_redeem(settings, https_url, console, params["code"][0], verifier))
    assert "refresh_token" in tokens and "access_token" in tokens, tokens
