"""What the backend-for-frontend promises a browser: cookies that cannot leak, sessions that cannot be fixed or
forged, tokens that never leave the server (sealed at rest), no open redirect, step-up that resumes the action,
and sessions that survive a restart of the process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from http.cookies import SimpleCookie

from sqlalchemy import select

from obank.database import unit_of_work
from obank.runtime import build_platform
from tests.web.browse import browser, follow, hidden_fields, sign_in
from tests.web.conftest import WebBank
from web.sessions.models import WebSession

APP_COOKIE = "__Host-obank_app"


def _set_cookie(response_headers: list[str], name: str) -> SimpleCookie:
    for header in response_headers:
        if header.startswith(name + "="):
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(header)
            return cookie
    raise AssertionError(f"no Set-Cookie for {name}")


async def _sealed_rows(bank: WebBank) -> list[bytes]:
    platform = build_platform(bank.settings)
    try:
        async with unit_of_work(platform.sessions) as session:
            return list((await session.scalars(select(WebSession.sealed))).all())
    finally:
        await platform.close()


def test_the_session_cookie_is_host_only_secure_httponly_and_replaced_at_sign_in(web_bank: WebBank) -> None:
    customer = web_bank.demo["customers"][0]
    with browser(web_bank) as client:
        started = client.get("/app/login")
        cookie = _set_cookie(started.headers.get_list("set-cookie"), APP_COOKIE)[APP_COOKIE]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"].lower() == "lax"
        assert cookie["path"] == "/" and not cookie["domain"]
        before = client.cookies.get(APP_COOKIE)
        sign_in(client, "/app", customer)
        after = client.cookies.get(APP_COOKIE)
        assert before and after and before != after  # no session fixation
        rows = asyncio.run(_sealed_rows(web_bank))
        assert rows and all(b"eyJ" not in row for row in rows)  # tokens sealed at rest


def test_a_forged_or_replayed_callback_signs_no_one_in(web_bank: WebBank) -> None:
    with browser(web_bank) as client:
        client.get("/app/login")
        forged = client.get("/app/callback", params={"code": "x", "state": "not-ours", "iss": web_bank.url})
        assert forged.status_code == 400 and "Please sign in again" in forged.text
        assert client.get("/app").headers["location"].startswith("/app/login")
    with browser(web_bank) as stranger:  # no session at all
        assert stranger.get("/app/callback", params={"code": "x", "state": "y"}).status_code == 400


def test_sign_in_never_returns_to_another_origin(web_bank: WebBank) -> None:
    customer = web_bank.demo["customers"][1]
    with browser(web_bank) as client:
        client.get("/app/login", params={"return_to": "https://evil.example/"})
        page = sign_in(client, "/app/login?return_to=//evil.example/x", customer)
        assert page.url.path == "/app" and page.url.host == "127.0.0.1"


def test_a_session_outlives_a_restart_of_the_process(web_bank: WebBank) -> None:
    customer = web_bank.demo["customers"][0]
    with browser(web_bank) as client:
        sign_in(client, "/app", customer)
        web_bank.restart()
        page = client.get("/app")
        assert page.status_code == 200 and "Your accounts" in page.text


def test_a_payee_asking_for_a_fresh_sca_is_added_after_the_customer_signs_in_again(
    make_web_bank: Callable[..., WebBank],
) -> None:
    bank = make_web_bank(payments_step_up_max_age_s=3)
    customer = bank.demo["customers"][1]
    with browser(bank) as client:
        page = sign_in(client, "/app", customer)
        time.sleep(4)  # the sign-in's SCA is now older than the API accepts for a new payee
        form = client.get("/app/payees/new")
        account = {"name": "Bob Jones", "sort_code": "04-00-75", "account_number": "00000026"}
        checked = client.post("/app/payees/new", data=hidden_fields(form.text) | account)
        assert checked.status_code == 200, checked.text[:800]
        add = client.post("/app/payees/new", data=hidden_fields(checked.text) | account)
        assert add.status_code == 303 and add.headers["location"].startswith("/oauth2/authorize"), add.text[:500]
        page = follow(client, add)
        assert "/login" in page.url.path  # prompt=login: the password and the code again
        page = sign_in(client, str(page.url), customer, totp_step=1)
        assert page.url.path == "/app/payees", (str(page.url), page.text[-1500:])
        assert "Payee added." in page.text and "Bob Jones" in page.text


def test_signing_out_of_the_app_ends_the_sign_in_too(web_bank: WebBank) -> None:
    customer = web_bank.demo["customers"][0]
    with browser(web_bank) as client:
        page = sign_in(client, "/app", customer)
        client.post("/app/logout", data=hidden_fields(page.text))
        again = follow(client, client.get("/app"))
        assert "/login" in again.url.path and 'name="password"' in again.text  # the password is asked again


def test_an_action_refused_after_its_step_up_is_told_in_the_bank_s_words(web_bank: WebBank) -> None:
    with browser(web_bank) as client:
        known = client.get("/app/not-done", params={"code": "insufficient_funds"})
        assert known.status_code == 200 and "not enough money" in known.text
        crafted = client.get("/app/not-done", params={"code": "<script>alert(1)</script>"})
        assert crafted.status_code == 200 and "<script>alert" not in crafted.text and "refused it" in crafted.text
