"""Secure messages through the web app over real TLS: a customer opens a thread and sends a file, a support agent
on a staff device reads it in the console, downloads the file and answers, and the customer reads the answer
from "obank support"; files are checked by content and come back as downloads."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.auth_server.test_browser import DESKTOP, PHONE
from tests.web.browse import browser, follow, hidden_fields, sign_in
from tests.web.chromium import PageChecks, chromium, sign_in_in_chromium, staff_device
from tests.web.conftest import WebBank
from tests.web.test_console import console, device, staff_member

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(64)


def _main(page: httpx.Response) -> str:
    return page.text[page.text.index("<main") : page.text.index("</main>")]


def _link(page: httpx.Response, pattern: str) -> str:
    found = re.search(pattern, page.text)
    assert found is not None, (pattern, _main(page)[:2000])
    return found.group(1)


def test_a_customer_and_a_support_agent_exchange_secure_messages(web_bank: WebBank) -> None:
    alice = web_bank.demo["customers"][0]
    with browser(web_bank) as customer:
        page = sign_in(customer, "/app/messages", alice)
        assert page.status_code == 200 and page.url.path == "/app/messages", (page.status_code, page.url)
        assert "You have no conversations yet." in page.text and '<label for="subject">' in page.text
        opened = customer.post(
            "/app/messages",
            data=hidden_fields(page.text) | {"subject": "Lost card", "text": "I lost my card.\r\nPlease block it."},
        )
        assert opened.status_code == 303, _main(opened)
        thread_path = opened.headers["location"].split("?")[0]
        thread = follow(customer, opened)
        assert "Your message is sent." in thread.text and "I lost my card.<br>Please block it." in thread.text
        assert 'enctype="multipart/form-data"' in thread.text and 'accept=".pdf,.png,.jpg,.jpeg"' in thread.text

        form = hidden_fields(thread.text)
        refused = customer.post(
            thread_path,
            data=form | {"text": "A program"},
            files=[("files", ("report.pdf", EXE, "application/pdf"))],
        )
        assert refused.status_code == 415 and "not a PDF, PNG or JPEG" in _main(refused)
        assert "A program" in _main(refused)  # what was typed is kept
        sent = customer.post(
            thread_path,
            data=form | {"text": "Here is the police report."},
            files=[("files", ("police report.pdf", PDF, "application/pdf")), ("files", ("", b"", "application/pdf"))],
        )
        assert sent.status_code == 303, _main(sent)
        thread = follow(customer, sent)
        download = customer.get(_link(thread, r'href="(/app/messages/[^"]+/attachments/[^"]+)">police report\.pdf<'))
        assert download.status_code == 200 and download.content == PDF
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["content-disposition"].startswith('attachment; filename="police report.pdf"')
        assert download.headers["x-content-type-options"] == "nosniff"
        forged = customer.post(thread_path, data={"text": "no token"})
        assert forged.status_code == 403

    with console(web_bank, "support") as staff:
        listed = staff.get("/console/messages")
        assert listed.status_code == 200, _main(listed)
        assert "Lost card" in listed.text and "2 unread" in listed.text
        staff_thread_path = f"/console/messages/{thread_path.rsplit('/', 1)[1]}"
        assert f'href="{staff_thread_path}"' in listed.text
        staff_thread = staff.get(staff_thread_path)
        assert "I lost my card." in staff_thread.text and "Here is the police report." in staff_thread.text
        file = staff.get(_link(staff_thread, r'href="(/console/messages/[^"]+/attachments/[^"]+)">police report'))
        assert file.status_code == 200 and file.content == PDF and file.headers["content-type"] == "application/pdf"
        answered = staff.post(
            f"{staff_thread_path}/reply",
            data=hidden_fields(staff_thread.text) | {"text": "Your card is blocked.\r\nA new one is on its way."},
        )
        assert answered.status_code == 303, _main(answered)
        after = follow(staff, answered)
        assert "Your answer is sent" in after.text and "not read yet" in after.text
        assert "none" in staff.get("/console/messages").text  # the customer's messages are read now

    with browser(web_bank) as customer:
        page = sign_in(customer, "/app/messages", alice, totp_step=1)
        assert "1 new" in page.text, _main(page)
        thread = customer.get(thread_path)
        text = _main(thread)
        assert "obank support" in text and "Your card is blocked.<br>A new one is on its way." in text
        assert "1 new" not in customer.get("/app/messages").text

    with console(web_bank, "support", totp_step=1) as staff:
        page = staff.get(staff_thread_path)
        assert "read by the customer" in page.text
        closed = staff.post(f"{staff_thread_path}/close", data=hidden_fields(page.text))
        assert closed.status_code == 303 and "Thread closed." in follow(staff, closed).text
        assert "No open threads." in staff.get("/console/messages").text

    with console(web_bank, "fraud_analyst") as analyst:
        refused_page = analyst.get("/console/messages")
        assert refused_page.status_code == 403


def test_the_message_pages_in_chromium(web_bank: WebBank, tmp_path: Path) -> None:
    """Each screen of secure messages screenshotted, checked with axe-core, free of CSP violations; the file input
    takes a file and the console answers."""
    from playwright.sync_api import expect

    alice = web_bank.demo["customers"][0]
    report = tmp_path / "report.pdf"
    report.write_bytes(PDF)
    with chromium() as chrome:
        context = chrome.new_context(ignore_https_errors=True, viewport=DESKTOP)
        page = context.new_page()
        checks = PageChecks(page, "app-messages")
        sign_in_in_chromium(page, web_bank.url + "/app/messages", alice, button="Allow")
        checks.look("list-empty")
        page.get_by_label("Subject").fill("Statement question")
        page.get_by_label("Message").fill("Why is there a fee on my statement?")
        page.get_by_role("button", name="Send message").click()
        page.wait_for_url("**/app/messages/*")
        thread_url = page.url.split("?")[0]
        page.get_by_label("Your message").fill("The statement is attached.")
        page.get_by_label("Attach files").set_input_files(str(report))
        checks.look("thread")
        page.get_by_role("button", name="Send reply").click()
        expect(page.get_by_role("link", name="report.pdf")).to_be_visible()
        page.get_by_role("link", name="Messages", exact=True).click()
        checks.look("list")
        checks.assert_clean()
        context.close()

        agent = staff_member(web_bank, "support")
        context = staff_device(chrome, web_bank.url, device(web_bank), PHONE)
        page = context.new_page()
        checks = PageChecks(page, "console-messages")
        sign_in_in_chromium(page, web_bank.url + "/console/messages", agent, button="Continue")
        checks.look("list")
        page.get_by_role("link", name="Statement question").click()
        page.get_by_label("Your answer").fill("That is the monthly account fee.")
        checks.look("thread")
        page.get_by_role("button", name="Send answer").click()
        expect(page.get_by_text("Your answer is sent")).to_be_visible()
        checks.assert_clean()
        context.close()
    assert thread_url.startswith(web_bank.url + "/app/messages/")
