"""The staff console (`/console`): staff sign in on a managed device, find a customer, investigate, act, and
high-risk actions wait for a second staff member; every page only calls the admin API through the gateway."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from audit.trail import platform_units
from core_banking.ledger import service as ledger_service
from fraud.alerts import service as alerts_service
from fraud.alerts.schemas import FlaggedPayment, RuleRecord
from fraud.decisions import Recommendation
from obank.actor import Actor
from obank.money import Money
from obank.runtime import build_platform
from obank.settings import PROJECT_ROOT
from tests.web.browse import browser, follow, hidden_fields, sign_in
from tests.web.conftest import WebBank

CSRF = "csrf_token"


def staff_member(bank: WebBank, role: str) -> dict[str, Any]:
    return next(person for person in bank.demo["staff"] if role in person["roles"])


def device(bank: WebBank) -> tuple[str, str]:
    """The staff device's client certificate and key, as the browser presents them on the TLS connection."""
    console = bank.demo["clients"]["staff_console"]
    return str(PROJECT_ROOT / console["certificate"]), str(PROJECT_ROOT / console["private_key"])


@contextmanager
def console(bank: WebBank, role: str, *, totp_step: int = 0) -> Iterator[httpx.Client]:
    """A browser on a staff device, signed in to the console as the demo staff member with `role`."""
    with browser(bank, certificate=device(bank)) as client:
        page = sign_in(client, "/console", staff_member(bank, role), totp_step=totp_step)
        assert page.status_code == 200 and page.url.path == "/console", (page.status_code, page.url, page.text[:500])
        assert f'<span class="status">{role.replace("_", " ")}</span>' in page.text  # the roles in the header
        yield client


def main(page: httpx.Response) -> str:
    """The page's main content, unescaped (what a person reads)."""
    text = page.text
    return html.unescape(text[text.index("<main") : text.index("</main>")])


def post(client: httpx.Client, page: httpx.Response, action: str, **fields: str) -> httpx.Response:
    """Submit a form of `page` (its CSRF token) to `action`."""
    return client.post(action, data={CSRF: hidden_fields(page.text)[CSRF], **fields})


def first_customer(bank: WebBank) -> dict[str, Any]:
    customer: dict[str, Any] = bank.demo["customers"][0]
    return customer


def gbp_account(customer: dict[str, Any], kind: str = "CHECKING") -> dict[str, Any]:
    return next(a for a in customer["accounts"] if a["currency"] == "GBP" and a["type"].upper() == kind)


def test_a_support_agent_finds_a_customer_and_investigates_a_payment(web_bank: WebBank) -> None:
    alice = first_customer(web_bank)
    iban = alice["accounts"][0]["iban"]
    with console(web_bank, "support") as client:
        found = client.get("/console", params={"by": "iban", "q": iban.lower()[:4] + " " + iban[4:]})
        assert found.status_code == 200
        assert "1 customer found" in main(found) and alice["name"] in main(found)
        assert f'href="/console/customers/{alice["customer_id"]}"' in found.text
        assert "Full name" in found.text and "Sort code and account number" in found.text  # what to search by

        sort_code, number = iban[8:14], iban[14:]
        by_account = client.get(
            "/console", params={"by": "account", "q": f"{sort_code[:2]}-{sort_code[2:4]}-{sort_code[4:]} {number}"}
        )
        assert alice["name"] in main(by_account)
        mistyped = client.get("/console", params={"by": "account", "q": "12345"})
        assert mistyped.status_code == 400 and "8-digit account number" in main(mistyped)
        nobody = client.get("/console", params={"by": "email", "q": "nobody@example.com"})
        assert nobody.status_code == 200 and "0 customers found" in main(nobody)

        customer = client.get(f"/console/customers/{alice['customer_id']}")
        assert customer.status_code == 200, main(customer)
        text = main(customer)
        assert alice["name"] in text and "alice@" in text
        for account in alice["accounts"]:
            assert account["iban"] in text
        assert "Opening deposit" in text  # recent transactions
        assert "Quick Crypto Returns Ltd" in text  # the demo payment to a listed mule
        assert "<h2>Sign-in</h2>" in customer.text and "<h2>Open Banking and apps</h2>" in customer.text
        assert "Fraud alerts" not in text  # support staff: the fraud API refuses them, so the section is left out

        payment_id = re.findall(r"/console/timeline\?payment_id=([0-9a-f-]{36})", customer.text)[0]
        timeline = client.get("/console/timeline", params={"payment_id": payment_id})
        assert timeline.status_code == 200
        assert "payment.initiated" in timeline.text or "payment." in timeline.text
        correlation_id = re.findall(r"/console/timeline\?correlation_id=([0-9a-zA-Z-]+)", timeline.text)[0]
        request = client.get("/console/timeline", params={"correlation_id": correlation_id})
        assert request.status_code == 200 and correlation_id in main(request)
        record_id = re.findall(r"/console/audit/([0-9a-f-]{36})", request.text)[0]

        form = client.get(f"/console/audit/{record_id}", params={"correlation_id": correlation_id})
        assert form.status_code == 200 and "at least 10 characters" in main(form).lower()
        too_short = post(client, form, f"/console/audit/{record_id}", reason="curious", correlation_id=correlation_id)
        assert too_short.status_code == 422
        assert "at least 10 characters" in main(too_short) and "<pre>" not in too_short.text

        opened = post(client, form, f"/console/audit/{record_id}", reason="Case 4411: customer disputes a payment")
        assert opened.status_code == 200, main(opened)
        assert "<h2>After</h2>" in opened.text and "<pre>" in opened.text
        assert record_id in main(opened)
        assert opened.headers["cache-control"] == "no-store"
        assert "Decryptions" not in opened.text  # the auditors' page is not offered to support staff
        refused = client.get("/console/decryptions")
        assert refused.status_code == 403 and "alert-error" in refused.text

    with console(web_bank, "auditor") as client:
        decryptions = client.get("/console/decryptions")
        assert decryptions.status_code == 200
        assert record_id in decryptions.text and "Case 4411: customer disputes a payment" in main(decryptions)


def test_a_frozen_account_refuses_the_customers_next_payment_and_staff_sign_the_customer_out(
    web_bank: WebBank,
) -> None:
    alice = first_customer(web_bank)
    bob = web_bank.demo["customers"][1]
    current = gbp_account(alice)
    with console(web_bank, "support") as client, browser(web_bank) as app:
        customer = client.get(f"/console/customers/{alice['customer_id']}")
        frozen = post(
            client,
            customer,
            f"/console/accounts/{current['id']}/freeze",
            reason="Suspected account takeover",
            customer_id=alice["customer_id"],
        )
        assert frozen.status_code == 303
        assert frozen.headers["location"] == f"/console/customers/{alice['customer_id']}?notice=frozen"
        shown = follow(client, frozen)
        assert "The account is frozen" in main(shown)
        assert f"/console/accounts/{current['id']}/unfreeze" in shown.text  # and it can be unfrozen from here

        again = post(
            client, shown, f"/console/accounts/{current['id']}/freeze", reason="Twice", customer_id=alice["customer_id"]
        )
        assert again.status_code == 409 and "alert-error" in again.text  # the API's refusal, on the page

        page = sign_in(app, "/app/pay", alice)
        assert page.status_code == 200 and page.url.path == "/app/pay", page.url
        bob_iban = gbp_account(bob)["iban"]
        fields = hidden_fields(page.text) | {
            "from_account": current["id"],
            "name": bob["name"],
            "sort_code": bob_iban[8:14],
            "account_number": bob_iban[14:],
            "amount": "12.50",
            "reference": "Lunch",
        }
        paid = app.post("/app/pay", data=fields)
        assert paid.status_code == 400, (paid.status_code, paid.headers.get("location"))
        assert "frozen" in main(paid).lower()

        # The customer is signed in now: staff see the session and the app's grant, and end both.
        customer = client.get(f"/console/customers/{alice['customer_id']}")
        (login_id,) = re.findall(r"/console/identities/([0-9a-f-]{36})/sessions/end", customer.text)
        (grant_id,) = re.findall(r"/console/grants/([0-9a-f-]{36})/revoke", customer.text)
        ended = post(
            client,
            customer,
            f"/console/identities/{login_id}/sessions/end",
            reason="Suspected account takeover",
            customer_id=alice["customer_id"],
        )
        assert ended.headers["location"].endswith("?notice=sessions-ended")
        customer = follow(client, ended)
        assert "Every sign-in session of this login has ended." in main(customer)
        assert "No live sessions." in main(customer)
        revoked = post(
            client,
            customer,
            f"/console/grants/{grant_id}/revoke",
            reason="Suspected account takeover",
            customer_id=alice["customer_id"],
        )
        assert revoked.headers["location"].endswith("?notice=grant-revoked")
        assert "/revoke" not in follow(client, revoked).text
        signed_out = app.get("/app")  # the app's tokens died with the grant: the customer signs in again
        assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/app/login")


def _empty_account(bank: WebBank, account_id: str, minor: int) -> None:
    """Take the account's money out at the counter (test setup: the console has no cash page)."""

    async def withdraw() -> None:
        platform = build_platform(bank.settings)
        try:
            async with platform_units(platform).begin(Actor.system("tests.web")) as uow:
                money = Money(minor, "GBP")
                await ledger_service.withdraw(uow, uuid.UUID(account_id), money, description="Customer leaving")
        finally:
            await platform.close()

    asyncio.run(withdraw())


def test_closing_an_account_or_resetting_a_totp_takes_a_second_staff_member(web_bank: WebBank) -> None:
    bob = web_bank.demo["customers"][1]
    savings = gbp_account(bob, "SAVINGS")
    current = gbp_account(bob)
    _empty_account(web_bank, savings["id"], 300_000)
    with console(web_bank, "support") as client:
        customer = client.get(f"/console/customers/{bob['customer_id']}")
        for account in (savings, current):
            asked = post(
                client,
                customer,
                f"/console/accounts/{account['id']}/close",
                reason="Customer asked",
                customer_id=bob["customer_id"],
            )
            assert asked.status_code == 303
            assert asked.headers["location"].endswith("?notice=close-requested")
            customer = follow(client, asked)
            assert "waits for a second staff member" in main(customer)
        assert main(customer).count("Closing was requested") == 2
        login_id = re.findall(r"/console/identities/([0-9a-f-]{36})/totp-reset", customer.text)[0]
        asked = post(
            client,
            customer,
            f"/console/identities/{login_id}/totp-reset",
            reason="Lost phone, identity checked",
            customer_id=bob["customer_id"],
        )
        assert asked.headers["location"].endswith("?notice=totp-reset-requested")
        customer = follow(client, asked)
        assert "A TOTP reset was requested" in main(customer)

        approvals = client.get("/console/approvals")
        assert approvals.status_code == 200
        ids = re.findall(r"/console/approvals/([0-9a-f-]{36})/reject", approvals.text)
        assert len(ids) == 3 and "/approve" not in approvals.text  # the maker is offered no approve button
        assert "Customer asked" in main(approvals) and "you" in main(approvals)
        self_approved = post(client, approvals, f"/console/approvals/{ids[0]}/approve")
        assert self_approved.status_code == 403
        assert "another staff member must approve it" in main(self_approved)

    with console(web_bank, "admin") as client:
        approvals = client.get("/console/approvals")
        approve_ids = re.findall(r"/console/approvals/([0-9a-f-]{36})/approve", approvals.text)
        assert sorted(approve_ids) == sorted(ids)
        outcomes = {}
        for approval_id in approve_ids:
            outcomes[approval_id] = post(client, approvals, f"/console/approvals/{approval_id}/approve")
        statuses = sorted(answer.status_code for answer in outcomes.values())
        assert statuses == [303, 303, 409], statuses
        refused = next(answer for answer in outcomes.values() if answer.status_code == 409)
        assert "balance" in main(refused).lower()  # the funded current account: the API's reason, shown

        closed = client.get(f"/console/accounts/{savings['id']}")
        assert '<span class="status">closed</span>' in closed.text
        still = client.get(f"/console/accounts/{current['id']}")
        assert '<span class="status">active</span>' in still.text
        customer = client.get(f"/console/customers/{bob['customer_id']}")
        assert "TOTP</dt><dd>not enrolled" in customer.text
        approvals = client.get("/console/approvals")  # the refused closing still waits: the admin rejects it
        (left,) = re.findall(r"/console/approvals/([0-9a-f-]{36})/approve", approvals.text)
        rejected = post(client, approvals, f"/console/approvals/{left}/reject", reason="Balance not zero")
        assert rejected.headers["location"] == "/console/approvals?notice=rejected"
        assert "Nothing waits for approval." in main(follow(client, rejected))


def test_without_the_staff_device_certificate_there_is_no_console(web_bank: WebBank) -> None:
    with browser(web_bank) as client:  # no client certificate on the connection
        page = sign_in(client, "/console", staff_member(web_bank, "support"))
        assert page.status_code == 400
        assert page.url.path == "/console/callback"
        assert "could not sign you in" in main(page)
        assert follow(client, client.get("/console")).url.path != "/console"  # still not signed in


def test_a_form_without_its_csrf_token_changes_nothing(web_bank: WebBank) -> None:
    alice = first_customer(web_bank)
    current = gbp_account(alice)
    with console(web_bank, "support") as client:
        forged = client.post(f"/console/accounts/{current['id']}/freeze", data={"reason": "Forged"})
        assert forged.status_code == 403 and "Form expired" in forged.text
        wrong = client.post(f"/console/accounts/{current['id']}/freeze", data={CSRF: "x" * 43, "reason": "Forged"})
        assert wrong.status_code == 403
        account = client.get(f"/console/accounts/{current['id']}")
        assert '<span class="status">active</span>' in account.text


def _raise_alert(bank: WebBank, customer_id: str) -> str:
    """An alert on a flagged payment of the customer, as the fraud consumer raises it (no relay runs here)."""
    correlation_id = f"web-test-{uuid.uuid4()}"

    async def raise_one() -> None:
        platform = build_platform(bank.settings)
        flagged = FlaggedPayment(
            payment_id=uuid.uuid4(),
            customer_id=uuid.UUID(customer_id),
            amount_minor=45_000,
            currency="GBP",
            creditor_account="60161340000001",
            status="RJCT",
            reason="FRAD",
            score=95,
            recommendation=Recommendation.BLOCK,
            rules=(RuleRecord("payee_on_mule_list", 95),),
            engine="rules-v1",
            correlation_id=correlation_id,
            occurred_at=datetime.now(UTC),
        )
        try:
            async with platform_units(platform).begin(Actor.system("tests.web")) as uow:
                await alerts_service.raise_alert(uow, flagged)
        finally:
            await platform.close()

    asyncio.run(raise_one())
    return correlation_id


def test_a_fraud_analyst_sees_alerts_and_an_auditor_cannot_act(web_bank: WebBank) -> None:
    alice = first_customer(web_bank)
    correlation_id = _raise_alert(web_bank, alice["customer_id"])
    with console(web_bank, "fraud_analyst") as client:
        customer = client.get(f"/console/customers/{alice['customer_id']}")
        assert "<h2>Fraud alerts</h2>" in customer.text and "payee_on_mule_list" in main(customer)
        alerts = client.get("/console/fraud")
        assert alerts.status_code == 200
        assert f"/console/customers/{alice['customer_id']}" in alerts.text
        assert f"/console/timeline?correlation_id={correlation_id}" in alerts.text
    with console(web_bank, "auditor") as client:
        customer = client.get(f"/console/customers/{alice['customer_id']}")
        assert customer.status_code == 200 and "<h2>Fraud alerts</h2>" not in customer.text
        account = gbp_account(alice)
        refused = post(
            client,
            customer,
            f"/console/accounts/{account['id']}/freeze",
            reason="Auditing",
            customer_id=alice["customer_id"],
        )
        assert refused.status_code == 403 and "alert-error" in refused.text
        assert client.get("/console/fraud").status_code == 403


def test_bad_links_and_ids_are_answered_in_words(web_bank: WebBank) -> None:
    alice = first_customer(web_bank)
    with console(web_bank, "support") as client:
        assert client.get("/console/customers/not-a-customer").status_code == 400
        unknown = client.get(f"/console/customers/{uuid.uuid4()}")
        assert unknown.status_code == 404 and "We could not do that" in unknown.text
        wrong_id = client.get("/console/timeline", params={"customer_id": "not-a-uuid"})
        assert wrong_id.status_code == 422 and "alert-error" in wrong_id.text
        for query in ({"by": "name", "q": "Alice\x00Demo"}, {"by": "nonsense", "q": "x"}, {"q": "9" * 301}):
            answer = client.get("/console", params=query)
            assert 400 <= answer.status_code < 500, (query, answer.status_code)
        record = client.post(f"/console/audit/{uuid.uuid4()}", data={"reason": "Case 1: a record nobody wrote"})
        assert record.status_code == 403  # no CSRF token: refused before anything else
        page = client.get(f"/console/audit/{uuid.uuid4()}")
        missing = post(client, page, page.url.path, reason="Case 1: a record nobody wrote")
        assert missing.status_code == 404 and "alert-error" in missing.text
        account = client.get(f"/console/accounts/{gbp_account(alice)['id']}")
        assert account.status_code == 200 and "Opening deposit" in main(account)
        assert f"/console/customers/{alice['customer_id']}" in account.text
