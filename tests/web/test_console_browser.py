"""The staff console in Chromium, on a staff device (its client certificate): find a customer, follow a payment to
the timeline, decrypt a record with a reason, freeze an account.

Every screen is screenshotted (test-artifacts/console-*.png), checked with axe-core (no serious or critical
violations) and watched for CSP violations and script errors (the pages have no script at all).
"""

from __future__ import annotations

import re

from tests.auth_server.test_browser import DESKTOP, PHONE
from tests.web.chromium import PageChecks, chromium, sign_in_in_chromium, staff_device
from tests.web.conftest import WebBank
from tests.web.test_console import device, staff_member


def test_a_support_agent_investigates_in_chromium(web_bank: WebBank) -> None:
    from playwright.sync_api import expect

    alice = web_bank.demo["customers"][0]
    agent = staff_member(web_bank, "support")
    with chromium() as browser:
        context = staff_device(browser, web_bank.url, device(web_bank), DESKTOP)
        page = context.new_page()
        checks = PageChecks(page, "console")
        sign_in_in_chromium(page, web_bank.url + "/console", agent, button="Continue")
        expect(page.get_by_role("heading", name="Find a customer")).to_be_visible()
        checks.look("search")

        page.get_by_label("Search by").select_option("iban")
        page.get_by_label("Search for").fill(alice["accounts"][0]["iban"])
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_role("heading", name="1 customer found")).to_be_visible()
        checks.look("results")

        page.get_by_role("link", name=alice["name"]).click()
        page.wait_for_url(f"**/console/customers/{alice['customer_id']}")
        expect(page.get_by_role("heading", name=alice["name"], level=1)).to_be_visible()
        checks.look("customer")
        customer_url = page.url

        page.get_by_role("link", name=re.compile("Timeline of the payment to Quick Crypto")).click()
        page.wait_for_url("**/console/timeline?payment_id=*")
        checks.look("payment-timeline")
        page.locator("table.timeline a[href*='correlation_id=']").first.click()
        page.wait_for_url("**/console/timeline?correlation_id=*")
        expect(page.get_by_role("heading", name=re.compile("^Correlation id"))).to_be_visible()
        checks.look("timeline")

        page.get_by_role("link", name=re.compile("^Decrypt details")).first.click()
        page.wait_for_url("**/console/audit/*")
        checks.look("decrypt")
        page.get_by_label("Why do you need to see them?").fill("Case 4411: customer disputes a payment")
        page.get_by_role("button", name="Decrypt details").click()
        expect(page.get_by_role("heading", name="After")).to_be_visible()
        expect(page.locator("pre").first).to_be_visible()
        checks.look("decrypted")

        page.goto(customer_url)
        page.get_by_label("Why freeze Current account?").first.fill("Suspected account takeover")
        page.get_by_role("button", name="Freeze account").first.click()
        expect(page.get_by_text("The account is frozen")).to_be_visible()
        expect(page.get_by_role("button", name="Unfreeze account")).to_be_visible()
        checks.look("customer-frozen")
        page.get_by_label("Why close Savings account?", exact=False).fill("Customer asked to close it")
        page.get_by_role("button", name="Ask to close account").nth(1).click()
        expect(page.get_by_text("waits for a second staff member").first).to_be_visible()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Approvals").click()
        expect(page.get_by_text("Another staff member must approve your request.")).to_be_visible()
        checks.look("approvals")
        page.goto(customer_url)

        page.set_viewport_size(PHONE)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing runs off the side
        checks.look("customer-phone")
        page.get_by_role("link", name="Timeline", exact=True).click()
        checks.look("timeline-phone")
        checks.assert_clean()
        context.close()
