"""The customer app's journeys over real TLS: pay a payee, move money, revoke a connected app; CSRF and refusals."""

from __future__ import annotations

import asyncio
import re
import uuid

from sqlalchemy import select

from audit.trail import platform_units
from auth_server.oauth.demo import TPP_CLIENT_ID
from auth_server.oauth.grants import service as grants_service
from auth_server.oauth.grants.models import OAuthGrant
from obank.actor import Actor
from obank.database import unit_of_work
from obank.runtime import build_platform
from tests.web.browse import browser, follow, hidden_fields, sign_in
from tests.web.conftest import WebBank


def _select_value(page: str, name: str, label_part: str) -> str:
    select = page.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    options: list[tuple[str, str]] = re.findall(r"<option value=\"([^\"]*)\"[^>]*>([^<]*)</option>", select)
    for value, label in options:
        if label_part in label:
            return value
    raise AssertionError(f"no {label_part!r} in {name}")


async def _tpp_grant(bank: WebBank, customer_id: str) -> uuid.UUID:
    """A TPP's account-information grant of the customer's, as the consent page records one."""
    platform = build_platform(bank.settings)
    try:
        async with unit_of_work(platform.sessions) as session:
            own = await session.scalar(select(OAuthGrant).where(OAuthGrant.customer_id == uuid.UUID(customer_id)))
        assert own is not None
        async with platform_units(platform).begin(Actor.system("tests.web")) as uow:
            grant = await grants_service.record_grant(
                uow,
                subject=own.subject,
                customer_id=own.customer_id,
                client_id=TPP_CLIENT_ID,
                scopes=["openid", "accounts"],
                authorization_details=None,
                consent_id=None,
                account_ids=[],
                expires_at=None,
            )
        return grant.id
    finally:
        await platform.close()


def test_a_customer_pays_a_saved_payee_once_however_often_the_form_is_sent(web_bank: WebBank) -> None:
    alice = web_bank.demo["customers"][0]
    with browser(web_bank) as client:
        sign_in(client, "/app", alice)
        form = client.get("/app/pay")
        assert form.status_code == 200
        fields = hidden_fields(form.text)
        fields |= {
            "from_account": _select_value(form.text, "from_account", "Current"),
            "payee_id": _select_value(form.text, "payee_id", "Bob"),
            "amount": "12.50",
            "reference": "Lunch",
        }
        sent = client.post("/app/pay", data=fields)
        assert sent.status_code == 303, sent.text[:1000]
        again = client.post("/app/pay", data=fields)  # the same form twice: the same payment
        assert again.headers["location"] == sent.headers["location"]
        page = follow(client, sent)
        assert page.status_code == 200 and "£12.50" in page.text and "Bob" in page.text
        listed = client.get("/app/payments")
        assert listed.text.count(sent.headers["location"]) == 1

        bad = client.post("/app/pay", data=fields | {"amount": "12.345", "key": str(uuid.uuid4())})
        assert bad.status_code == 400 and "decimal places" in bad.text
        forged = client.post("/app/pay", data={k: v for k, v in fields.items() if k != "csrf_token"})
        assert forged.status_code == 403


def test_a_customer_moves_money_between_their_accounts(web_bank: WebBank) -> None:
    alice = web_bank.demo["customers"][0]
    with browser(web_bank) as client:
        sign_in(client, "/app", alice)
        form = client.get("/app/transfer")
        fields = hidden_fields(form.text) | {
            "from_account": _select_value(form.text, "from_account", "Current"),
            "to_account": _select_value(form.text, "to_account", "Savings"),
            "amount": "5",
        }
        done = client.post("/app/transfer", data=fields)
        assert done.headers["location"] == "/app?notice=transfer-done", done.text[:500]
        assert "Your money has moved." in follow(client, done).text
        same = client.post("/app/transfer", data=fields | {"to_account": fields["from_account"]})
        assert same.status_code == 400 and "two different accounts" in same.text


def test_a_customer_revokes_a_connected_app(web_bank: WebBank) -> None:
    carol = web_bank.demo["customers"][1]
    with browser(web_bank) as client:
        sign_in(client, "/app", carol)
        grant_id = asyncio.run(_tpp_grant(web_bank, carol["customer_id"]))
        page = client.get("/app/connected-apps")
        assert "Demo TPP" in page.text and "obank app" not in page.text
        revoked = client.post(f"/app/connected-apps/{grant_id}/revoke", data=hidden_fields(page.text))
        assert revoked.headers["location"] == "/app/connected-apps?notice=app-revoked"
        after = follow(client, revoked)
        assert "can no longer see your accounts" in after.text and "Revoke access" not in after.text


def test_signed_out_means_signed_out(web_bank: WebBank) -> None:
    dave = web_bank.demo["customers"][1]
    with browser(web_bank) as client:
        page = sign_in(client, "/app", dave, totp_step=1)
        out = client.post("/app/logout", data=hidden_fields(page.text))
        assert out.headers["location"] == "/app/signed-out"
        assert client.get("/app").headers["location"].startswith("/app/login")


def test_every_screen_of_the_app_answers_a_signed_in_customer(web_bank: WebBank) -> None:
    alice = web_bank.demo["customers"][0]
    with browser(web_bank) as client:
        page = sign_in(client, "/app", alice)
        for path in ("/app/payees", "/app/payees/new", "/app/scheduled", "/app/payments", "/app/notifications"):
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.text[:500])
        assert "Bob" in client.get("/app/payees").text
        assert "this device" in client.get("/app/security").text
        checked = client.post(
            "/app/payees/new",
            data=hidden_fields(page.text) | {"name": "Someone", "sort_code": "12-34-56", "account_number": "1234"},
        )
        assert checked.status_code == 400 and "alert-error" in checked.text
        assert client.get("/app/nowhere").status_code == 404
