"""The customer app in Chromium: sign in, balances, pay a payee, a statement, revoke a connected app.

Every screen is screenshotted (test-artifacts/app-*.png), checked with axe-core (no serious or critical
violations) and watched for CSP violations and script errors (the pages have no script at all).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from tests.auth_server.test_browser import DESKTOP, PHONE
from tests.web.chromium import PageChecks, chromium, sign_in_in_chromium
from tests.web.conftest import WebBank
from tests.web.test_customer_app import _tpp_grant


def test_a_customer_uses_the_app_in_chromium(web_bank: WebBank) -> None:
    alice = web_bank.demo["customers"][0]
    from playwright.sync_api import expect

    with chromium() as browser:
        context = browser.new_context(ignore_https_errors=True, viewport=DESKTOP, accept_downloads=True)
        page = context.new_page()
        checks = PageChecks(page, "app")
        sign_in_in_chromium(page, web_bank.url + "/app", alice, button="Allow")
        expect(page.get_by_role("heading", name="Your accounts")).to_be_visible()
        checks.look("dashboard")

        page.get_by_role("link", name="Pay", exact=True).click()
        page.get_by_label("From").select_option(label=page.locator("#from_account option").first.inner_text())
        page.get_by_label("A saved payee").select_option(index=1)
        page.get_by_label("Amount").fill("12.50")
        page.get_by_label("Reference").fill("Lunch")
        checks.look("pay")
        page.get_by_role("button", name="Pay", exact=True).click()
        page.wait_for_url("**/app/payments/*")
        expect(page.get_by_role("heading", name="£12.50 to Bob", exact=False)).to_be_visible()
        checks.look("payment")

        page.get_by_role("link", name="Accounts").click()
        page.locator(".cards a").first.click()
        page.wait_for_url("**/app/accounts/*")
        checks.look("account")
        with page.expect_download() as download:
            page.locator("a", has_text="PDF").first.click()
        assert download.value.suggested_filename.endswith(".pdf")

        with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's event loop
            pool.submit(asyncio.run, _tpp_grant(web_bank, alice["customer_id"])).result()
        page.get_by_role("link", name="Connected apps").click()
        expect(page.get_by_role("heading", name="Demo TPP")).to_be_visible()
        checks.look("connected-apps")
        page.get_by_role("button", name="Revoke access").click()
        expect(page.get_by_text("can no longer see your accounts")).to_be_visible()

        page.set_viewport_size(PHONE)
        page.get_by_role("link", name="Accounts").click()
        checks.look("dashboard-phone")
        checks.assert_clean()
        context.close()
