"""A real browser (headless Chromium over HTTPS): enrol in TOTP from the page, sign out, sign in with a fresh code."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import ViewportSize

from bank.app import create_app
from obank.certs import init_development_certificates
from obank.runtime import build_platform
from obank.server import TLSFiles, bind_socket, build_server, run_server
from obank.settings import PROJECT_ROOT, Settings
from tests.auth_server.helpers import PASSWORD, new_login
from tests.services import missing_service

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


@pytest.fixture
def https_url(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The gateway served over real TLS (so `__Host-`/Secure cookies behave as in production), in a thread."""
    init_development_certificates(tmp_path / "certs")
    files = TLSFiles(tmp_path / "certs" / "server.pem", tmp_path / "certs" / "server.key", client_ca_file=None)
    platform = build_platform(settings)  # connects lazily, on the server thread's event loop
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


def test_enrol_sign_out_and_sign_in_with_a_fresh_code_in_chromium(settings: Settings, https_url: str) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        missing_service("chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        missing_service("the playwright package")
        raise
    asyncio.run(_create_customer(settings))
    ARTIFACTS.mkdir(exist_ok=True)
    console_errors: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(ignore_https_errors=True, viewport=PHONE)
        page = context.new_page()
        page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)

        # Sign in with the keyboard only: labelled fields, Tab between them, Enter to submit.
        page.goto(f"{https_url}/login")
        expect(page.get_by_role("heading", name="Sign in to obank")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "auth-login.png"), full_page=True)
        page.get_by_label("Username").fill("browser.user")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("alert")).to_contain_text("could not sign you in")
        page.screenshot(path=str(ARTIFACTS / "auth-login-refused.png"), full_page=True)
        page.get_by_label("Username").focus()
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.type("browser.user")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/account")

        page.get_by_role("link", name="Set up two-step verification").click()
        page.wait_for_url("**/mfa/enrol")
        expect(page.locator("svg.qr-code")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "auth-enrolment.png"), full_page=True)
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        totp = pyotp.TOTP(secret)
        # The code the phone showed a moment ago (previous step, inside RFC 6238's one-step drift window):
        # the current step's code then stays unused for the sign-in below, with no wait for a new step.
        page.get_by_label("Enter the 6-digit code your app shows").fill(
            totp.at(datetime.now(UTC) - timedelta(seconds=30))
        )
        page.get_by_role("button", name="Turn on two-step verification").click()
        expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
        expect(page.locator(".recovery-codes li")).to_have_count(10)
        page.screenshot(path=str(ARTIFACTS / "auth-recovery-codes.png"), full_page=True)
        page.get_by_role("link", name="I have saved my codes, continue").click()
        expect(page.get_by_text("password and authentication code")).to_be_visible()

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="You have signed out")).to_be_visible()
        assert not [c for c in context.cookies() if c["name"] == "__Host-obank_session"]

        page.goto(f"{https_url}/login")
        page.get_by_label("Username").fill("browser.user")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url("**/login/otp")
        page.screenshot(path=str(ARTIFACTS / "auth-otp.png"), full_page=True)
        page.get_by_label("Authentication code").fill(totp.now())
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url("**/account")
        expect(page.get_by_text("password and authentication code")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "auth-account.png"), full_page=True)
        page.set_viewport_size(DESKTOP)
        page.goto(f"{https_url}/logout")
        page.screenshot(path=str(ARTIFACTS / "auth-logout-desktop.png"), full_page=True)

        (session_cookie,) = [c for c in context.cookies() if c["name"] == "__Host-obank_session"]
        assert session_cookie["secure"] and session_cookie["httpOnly"] and session_cookie["sameSite"] == "Lax"
        assert session_cookie["path"] == "/"
        browser.close()
    # Chromium reports the refused sign-in's 400; nothing else (such as a resource the CSP blocked) may appear.
    assert console_errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]


async def _create_customer(settings: Settings) -> None:
    platform = build_platform(settings)
    try:
        await new_login(platform, "browser.user")
    finally:
        await platform.close()
