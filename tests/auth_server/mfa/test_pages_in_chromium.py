"""A real browser (headless Chromium over HTTPS): replace the authenticator app, then get new recovery codes."""

from __future__ import annotations

import asyncio
import shutil

from playwright.sync_api import Page

from obank.runtime import build_platform
from obank.settings import Settings
from tests.auth_server.helpers import PASSWORD, new_login
from tests.auth_server.mfa.helpers import Steps, enrolled
from tests.auth_server.test_browser import ARTIFACTS, CHROMIUM_ARGS, PHONE, https_url  # noqa: F401 (a fixture)
from tests.services import missing_service


async def _enrolled_customer(settings: Settings) -> tuple[str, Steps]:
    platform = build_platform(settings)
    try:
        identity = await new_login(platform, "phone.swap")
        secret, _, steps = await enrolled(platform, identity)
    finally:
        await platform.close()
    return secret, steps


def _sign_in(page: Page, base_url: str, secret: str, steps: Steps) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Username").fill("phone.swap")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/login/otp")
    page.get_by_label("Authentication code").fill(steps.next_code(secret))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/account")


def test_replace_the_app_and_renew_recovery_codes_in_chromium(settings: Settings, https_url: str) -> None:  # noqa: F811
    chromium = shutil.which("chromium")
    if chromium is None:
        missing_service("chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        missing_service("the playwright package")
        raise
    old_secret, steps = asyncio.run(_enrolled_customer(settings))
    ARTIFACTS.mkdir(exist_ok=True)
    console_errors: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(ignore_https_errors=True, viewport=PHONE)
        page = context.new_page()
        page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
        _sign_in(page, https_url, old_secret, steps)
        page.screenshot(path=str(ARTIFACTS / "auth-account-enrolled.png"), full_page=True)

        page.get_by_role("link", name="Set up a new authenticator app").click()
        page.wait_for_url("**/mfa/replace")
        expect(page.get_by_role("heading", name="Set up a new authenticator app")).to_be_visible()
        expect(page.locator("svg.qr-code")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "auth-replace-authenticator.png"), full_page=True)
        new_secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        page.get_by_label("Enter the 6-digit code your new app shows").fill(steps.next_code(new_secret))
        page.get_by_role("button", name="Use this app from now on").click()
        expect(page.get_by_role("heading", name="Save your new recovery codes")).to_be_visible()
        expect(page.locator(".recovery-codes li")).to_have_count(10)
        page.screenshot(path=str(ARTIFACTS / "auth-replace-authenticator-done.png"), full_page=True)
        page.get_by_role("link", name="I have saved my codes, continue").click()
        page.wait_for_url("**/account")

        page.get_by_role("link", name="Get new recovery codes").click()
        page.wait_for_url("**/account/recovery-codes")
        expect(page.get_by_text("10 unused recovery codes left")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "auth-renew-recovery-codes.png"), full_page=True)
        page.get_by_role("button", name="Get new recovery codes").click()
        expect(page.get_by_role("heading", name="Save your new recovery codes")).to_be_visible()
        expect(page.locator(".recovery-codes li")).to_have_count(10)
        browser.close()
    assert console_errors == []  # nothing the CSP blocked, no failed request
