"""A PISP's whole journey for a standing order over real mTLS: the consent, PAR with `payment_initiation`, the
customer's sign-in with password and TOTP (SCA) and the schedule on the consent page, the token, the standing
order, its reads, and its first payment on its day.

Nothing is minted or authorised behind the bank's back, and every Open Banking exchange is checked against the
official Payment Initiation OpenAPI file.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from auth_server.oauth.config import PAR_PATH
from core_banking.facade import InProcessCoreBanking
from core_banking.jobs import run_due_payment_orders
from tests.auth_server.oauth.conftest import REDIRECT_URI, assertion_form, pki, registrar
from tests.auth_server.oauth.conftest import shared_database_url as shared_database_url
from tests.auth_server.oauth.flow import decision_form, pkce, redirect_params, sign_in_to_consent
from tests.core_banking.helpers import new_account, new_customer
from tests.gateway.harness import RunningGateway
from tests.open_banking.contract import Contract
from tests.open_banking.pisp.orders import in_days
from tests.open_banking.test_end_to_end_payments import (
    _payload,
    app_token,
    gateway,
    ob_headers,
    paying_customer,
    signed,
)

__all__ = ["gateway", "pki", "shared_database_url"]

PISP = "/open-banking/v4.0/pisp"


async def test_a_pisp_sets_up_a_standing_order_the_customer_authorised_and_it_pays_on_its_day(
    gateway: RunningGateway, contract: Contract
) -> None:
    platform = gateway.platform
    tpp = await registrar(platform)(scope="openid payments", alg="PS256")
    customer = await paying_customer(gateway)
    current_id, savings_id = customer.account_ids
    payee_owner = await new_customer(platform.sessions, platform.keyring)
    payee = await new_account(platform.sessions, platform.keyring, payee_owner.id)
    bank = InProcessCoreBanking(platform.sessions, platform.keyring)
    current = await bank.get_account(current_id)
    tls = gateway.http("tpp")

    initiation: dict[str, Any] = {
        "NumberOfPayments": "2",
        "FirstPaymentAmount": {"Amount": "30.00", "Currency": "GBP"},
        "RecurringPaymentAmount": {"Amount": "25.00", "Currency": "GBP"},
        "DebtorAccount": {
            "SchemeName": "UK.OBIE.SortCodeAccountNumber",
            "Identification": current.sort_code + current.account_number,
        },
        "CreditorAccount": {
            "SchemeName": "UK.OBIE.SortCodeAccountNumber",
            "Identification": payee.sort_code + payee.account_number,
            "Name": "Hill Street Lettings",
        },
        "MandateRelatedInformation": {"FirstPaymentDateTime": in_days(3), "Frequency": {"Type": "WEEK"}},
        "RemittanceInformation": {"Structured": [{"CreditorReferenceInformation": {"Reference": "FLAT-9"}}]},
    }
    risk = {"PaymentContextCode": "TransferToThirdParty"}
    token = await app_token(gateway, tpp, tls)
    content, signature = signed(
        gateway, tpp, {"Data": {"Permission": "Create", "Initiation": initiation}, "Risk": risk}
    )
    created = await tls.post(
        PISP + "/domestic-standing-order-consents",
        content=content,
        headers=ob_headers(token, **signature, **{"x-idempotency-key": "e2e-" + uuid.uuid4().hex[:16]}),
    )
    assert created.status_code == 201, created.text
    contract.check(created)
    consent_id = created.json()["Data"]["ConsentId"]

    # PAR with the consent as RFC 9396 authorization_details: `payment_initiation` carries every payment kind.
    verifier, challenge = pkce()
    pushed = await tls.post(
        PAR_PATH,
        data={
            "response_type": "code",
            "client_id": tpp.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid payments",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "state-standing-0123456789",
            "nonce": "nonce-standing-0123456789",
            "authorization_details": json.dumps([{"type": "payment_initiation", "consent_id": consent_id}]),
            **assertion_form(tpp, gateway.issuer),
        },
    )
    assert pushed.status_code == 201, pushed.text
    browser = gateway.http()
    start = "/oauth2/authorize?" + str(
        httpx.QueryParams({"client_id": tpp.client_id, "request_uri": pushed.json()["request_uri"]})
    )
    page = await sign_in_to_consent(browser, start, customer)
    assert "Hill Street Lettings" in page.text and "FLAT-9" in page.text
    assert "30.00 GBP" in page.text and "25.00 GBP" in page.text
    assert "Every week" in page.text and "after 2 payments" in page.text
    assert str(current_id) in page.text and str(savings_id) not in page.text  # only the DebtorAccount named
    approved = await browser.post("/oauth2/authorize/decision", data=decision_form(page, "approve", [current_id]))
    code = redirect_params(approved)["code"]
    issued = await tls.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            **assertion_form(tpp, gateway.issuer),
        },
    )
    assert issued.status_code == 200, issued.text
    psu_token = issued.json()["access_token"]
    claims = _payload(psu_token)
    assert claims["consent_id"] == consent_id and claims["acr"] == "urn:openbanking:psd2:sca"

    body = {"Data": {"ConsentId": consent_id, "Initiation": initiation}, "Risk": risk}
    content, signature = signed(gateway, tpp, body)
    ordered = await tls.post(
        PISP + "/domestic-standing-orders",
        content=content,
        headers=ob_headers(psu_token, **signature, **{"x-idempotency-key": "e2e-" + uuid.uuid4().hex[:16]}),
    )
    assert ordered.status_code == 201, ordered.text
    contract.check(ordered)
    assert ordered.json()["Data"]["Status"] == "INCO"
    order_id = ordered.json()["Data"]["DomesticStandingOrderId"]

    content, signature = signed(gateway, tpp, body)
    again = await tls.post(
        PISP + "/domestic-standing-orders",
        content=content,
        headers=ob_headers(psu_token, **signature, **{"x-idempotency-key": "e2e-" + uuid.uuid4().hex[:16]}),
    )
    assert again.status_code == 400, again.text
    contract.check(again)

    order = await bank.get_payment_order(uuid.UUID(order_id))
    assert order.next_payment_at is not None
    assert await run_due_payment_orders(platform, now=order.next_payment_at) == 1

    read = await tls.get(f"{PISP}/domestic-standing-orders/{order_id}", headers=ob_headers(token))
    details = await tls.get(f"{PISP}/domestic-standing-orders/{order_id}/payment-details", headers=ob_headers(token))
    consent = await tls.get(f"{PISP}/domestic-standing-order-consents/{consent_id}", headers=ob_headers(token))
    for response in (read, details, consent):
        assert response.status_code == 200, response.text
        contract.check(response)
    assert read.json()["Data"]["Status"] == "INCO" and read.json()["Data"]["Initiation"] == initiation
    first_payment = (await bank.get_payment_order(order.id)).runs[0].payment_id
    assert details.json()["Data"]["PaymentStatus"][0]["PaymentTransactionId"] == str(first_payment)
    assert consent.json()["Data"]["Status"] == "COND"

    discovery = (await gateway.http().get("/open-banking/discovery")).json()
    [pisp] = discovery["Data"]["PaymentInitiationAPI"]
    assert {
        "CreateDomesticStandingOrderConsents",
        "CreateDomesticStandingOrders",
        "GetDomesticStandingOrdersDomesticStandingOrderIdPaymentDetails",
        "CreateDomesticScheduledPayments",
    } <= set(pisp["Links"])
