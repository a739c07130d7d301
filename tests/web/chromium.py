"""Chromium for the web app's journeys: launch it, and check each page (screenshot, axe-core, CSP, script errors)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from tests.auth_server.test_browser import ARTIFACTS, CHROMIUM_ARGS
from tests.services import missing_service

SERIOUS = frozenset({"serious", "critical"})


def _axe_script() -> str:
    return resources.files("axe_playwright_python").joinpath("axe.min.js").read_text()


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's sync API): `playwright.sync_api.Browser`."""
    executable = shutil.which("chromium")
    if executable is None:
        missing_service("chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_service("the playwright package")
        raise
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class PageChecks:
    """Watches a page for CSP violations and script errors; `look` screenshots it and runs axe-core on it."""

    def __init__(self, page: Any, prefix: str) -> None:
        self.page = page
        self.prefix = prefix
        self.problems: list[str] = []
        self.looked: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))

    def _console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self.problems.append(f"{self.page.url}: {text}")

    def look(self, name: str) -> None:
        """Save `test-artifacts/<prefix>-<name>.png` and fail on serious or critical accessibility violations."""
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{self.prefix}-{name}.png"), full_page=True)
        self.page.evaluate(_axe_script())
        results = self.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [
            f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            for violation in results["violations"]
            if violation.get("impact") in SERIOUS
        ]
        assert not serious, f"{name}: accessibility violations:\n" + "\n".join(serious)
        self.looked.append(name)

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(self.problems)


def sign_in_in_chromium(page: Any, start: str, person: dict[str, Any], *, button: str) -> None:
    """Open `start`, sign in with password and TOTP, and press `button` on the authorization page ("Allow" for the
    customer app's consent, "Continue" for the staff console); back at `start`."""
    import pyotp

    page.goto(start)
    page.wait_for_url("**/login?*")
    page.get_by_label("Username").fill(person["username"])
    page.get_by_label("Password").fill(person["password"])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/login/otp*")
    page.get_by_label("Authentication code").fill(pyotp.TOTP(person["totp_secret"]).now())
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/oauth2/authorize*")
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_url(start)


def staff_device(browser: Any, url: str, device: tuple[str, str], viewport: Any) -> Any:
    """A browser context presenting the staff device's certificate and key to `url` (console tokens bind to it)."""
    certificate = {"origin": url, "certPath": device[0], "keyPath": device[1]}
    return browser.new_context(ignore_https_errors=True, viewport=viewport, client_certificates=[certificate])
