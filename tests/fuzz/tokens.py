"""Real tokens for every family the fuzzer calls, each obtained the way its holder obtains it, and which to send.

A demo customer signs in to the bank's app (password, TOTP); a demo staff member of each role signs in to the
console from a device certificate; a TPP authenticates with private_key_jwt over mTLS for its client
credentials token, and customers sign in and approve an account access, a domestic payment and a funds
confirmation consent for its authorised tokens. Nothing is minted behind the authorization server's back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from core_banking import facade as core_banking
from core_banking.consents.rules import UNSUPPORTED_PERMISSIONS
from gateway.policy import Family, policy_for
from obank.roles import StaffRole
from tests.auth_server.oauth.conftest import RegisteredClient, RunningAS, assertion_form, registrar
from tests.auth_server.oauth.flow import (
    Customer,
    approve,
    code_form,
    funds_consent,
    in_process,
    new_enrolled_customer,
    payment_consent,
    push,
)
from tests.gateway.harness import RunningGateway
from tests.gateway.scenarios import customer_login, staff_login

TPP_CERT = "tpp"
STAFF_DEVICE = "other"  # a CA-issued client certificate standing for the managed staff device
TPP_SCOPE = "openid accounts payments fundsconfirmations"
USERINFO = "/oauth2/userinfo"  # public to the gateway, but the customer's token is what it reads
# Open Banking families by path, with the scope of their client credentials token.
OB_FAMILIES = {"aisp": "accounts", "pisp": "payments", "cbpii": "fundsconfirmations"}


@dataclass(frozen=True)
class Tokens:
    """The bearer tokens of one fuzzed bank, and ids that exist for them (so requests reach past the lookups)."""

    customer: str
    staff: dict[str, str]
    tpp_app: dict[str, str]  # client credentials, by Open Banking family
    tpp_authorised: dict[str, str]  # a customer's authorisation of a consent, by Open Banking family
    known: dict[str, dict[str, str]]  # path parameters' existing values: the bank's ("bank"), each OB family's

    def known_values(self, path: str) -> dict[str, str]:
        """Values of path parameters that name existing things, for an operation at `path` (a template)."""
        family = path.split("/")[3] if path.startswith("/open-banking/") else "bank"
        return self.known.get(family, {})

    def for_request(self, method: str, path: str) -> dict[str, str]:
        """The Authorization header a legitimate caller of `method path` sends (none on public routes)."""
        policy = policy_for(method, path)
        token: str | None = None
        if policy.family is Family.FIRST_PARTY or path == USERINFO:
            token = self.customer
        elif policy.family is Family.ADMIN:
            role = StaffRole.ADMIN if StaffRole.ADMIN in policy.roles else min(policy.roles, default=StaffRole.ADMIN)
            token = self.staff[role]
        elif policy.family is Family.OPEN_BANKING:
            family = path.split("/")[3] if path.count("/") >= 3 else "aisp"
            # Consents are the TPP's own (client credentials); resources are the customer's (authorised).
            tokens = self.tpp_app if "consents" in path else self.tpp_authorised
            token = tokens.get(family, self.tpp_app["aisp"])
        return {} if token is None else {"authorization": f"Bearer {token}"}


async def _client_credentials(gateway: RunningGateway, tpp: RegisteredClient, scope: str) -> str:
    """The TPP's client credentials token for `scope`, from the token endpoint over its certificate."""
    form = {"grant_type": "client_credentials", "scope": scope, **assertion_form(tpp, gateway.issuer)}
    response = await gateway.http(TPP_CERT).post("/oauth2/token", data=form)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def _authorised(
    gateway: RunningGateway, tpp: RegisteredClient, consent: core_banking.ConsentRecord, customer: Customer
) -> str:
    """PAR for `consent`, the customer's sign-in and approval, and the code redeemed for a token."""
    # The gateway serves the authorization server's origin, which is all flow.py's helpers drive.
    origin = cast(RunningAS, gateway)
    pushed = await push(origin, tpp, consent=consent)
    _, _, redirect = await approve(origin, tpp, pushed, customer)
    response = await gateway.http(TPP_CERT).post(
        "/oauth2/token", data=code_form(tpp, origin, redirect["code"], pushed.verifier)
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def _tpp_tokens(gateway: RunningGateway) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, str]]]:
    """A TPP's client credentials tokens, its authorised tokens and their consents' ids, by Open Banking family."""
    platform = gateway.platform
    tpp = await registrar(platform)(scope=TPP_SCOPE)
    app = {family: await _client_credentials(gateway, tpp, scope) for family, scope in OB_FAMILIES.items()}
    supported = tuple(p for p in core_banking.Permission if p not in UNSUPPORTED_PERMISSIONS)
    every_cluster = core_banking.AccountAccessDetails(permissions=supported)
    reading = await in_process(platform).create_account_access_consent(tpp.client_id, every_cluster)
    paying = await payment_consent(platform, tpp.client_id)
    # One customer each: a TOTP code is accepted once, and a funds consent names its customer's account.
    customers = [await new_enrolled_customer(platform) for _ in OB_FAMILIES]
    funds = await funds_consent(platform, tpp.client_id, customers[2].account_ids[0])
    consents = list(zip(OB_FAMILIES, (reading, paying, funds), customers, strict=True))
    authorised = {family: await _authorised(gateway, tpp, consent, who) for family, consent, who in consents}
    known = {family: {"ConsentId": consent.id} for family, consent, _ in consents}
    known["aisp"]["AccountId"] = str(customers[0].account_ids[0])
    return app, authorised, known


async def obtain_tokens(gateway: RunningGateway, demo: dict[str, Any]) -> Tokens:
    """Every family's tokens for the demo bank behind `gateway`."""
    customer = await customer_login(gateway.http(), demo)
    staff = {role: await staff_login(gateway.http(STAFF_DEVICE), demo, role) for role in StaffRole}
    app, authorised, known = await _tpp_tokens(gateway)
    first = demo["customers"][0]
    account = next(account["id"] for account in first["accounts"] if account["currency"] == "GBP")
    known["bank"] = {"customer_id": first["customer_id"], "account_id": account}
    return Tokens(customer, {str(role): token for role, token in staff.items()}, app, authorised, known)
