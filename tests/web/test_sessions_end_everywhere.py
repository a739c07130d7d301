"""The customer app's "Sign out everywhere else" signs the customer's other browsers out of the app itself."""

from __future__ import annotations

from tests.web.browse import browser, follow, hidden_fields, sign_in
from tests.web.conftest import WebBank


def test_signing_out_everywhere_else_sends_the_other_browser_to_sign_in(web_bank: WebBank) -> None:
    customer = web_bank.demo["customers"][0]
    with browser(web_bank) as laptop, browser(web_bank) as phone:
        sign_in(laptop, "/app", customer)
        sign_in(phone, "/app", customer, totp_step=1)  # each code works once
        assert phone.get("/app").status_code == 200

        security = laptop.get("/app/security")
        assert security.status_code == 200 and "this device" in security.text
        ended = laptop.post("/app/security/sessions/end-others", data=hidden_fields(security.text))

        assert ended.status_code == 303 and ended.headers["location"] == "/app/security?notice=sessions-ended"
        assert follow(laptop, ended).status_code == 200  # this browser stays signed in
        refused = phone.get("/app")
        assert refused.status_code == 303 and refused.headers["location"].startswith("/app/login"), refused.text[:500]
