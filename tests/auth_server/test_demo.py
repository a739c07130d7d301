"""Demo logins: TOTP-enrolled customers linked to their customer ids and one staff login per role, idempotently."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pyotp

from audit.trail import platform_units
from auth_server.demo import DemoIdentities, seed_demo_identities
from auth_server.identities import service as identities
from auth_server.identities.passwords import check_strength
from auth_server.identities.schemas import IdentityKind
from auth_server.identities.service import PasswordVerdict
from auth_server.mfa import service as mfa
from auth_server.mfa.replay import DatabaseOnlyGuard
from auth_server.oauth.clients import service as clients_service
from bank.demo import seed_and_write_demo
from obank.database import unit_of_work
from obank.roles import StaffRole
from obank.runtime import Platform
from tests.auth_server.helpers import TEST_ACTOR


async def _seed(platform: Platform, customers: list[tuple[uuid.UUID, str]]) -> DemoIdentities:
    return await seed_demo_identities(platform_units(platform), platform.revocations, customers)


async def test_demo_logins_work_and_reruns_return_the_same_credentials(platform: Platform) -> None:
    customers = [(uuid.uuid4(), "alice"), (uuid.uuid4(), "bob")]
    first = await _seed(platform, customers)
    again = await _seed(platform, customers)
    assert again == first
    assert [(c.customer_id, c.username) for c in first.customers] == customers
    assert {role for login in first.staff for role in login.roles} == set(StaffRole)

    now = datetime.now(UTC)
    logins = [(IdentityKind.CUSTOMER, c.username, c.password, c.totp_secret) for c in first.customers[:1]]
    logins += [(IdentityKind.STAFF, s.username, s.password, s.totp_secret) for s in first.staff[:1]]
    for kind, username, password, secret in logins:
        check_strength(password, username=username)
        async with platform_units(platform).begin(TEST_ACTOR) as uow:
            check = await identities.check_password(uow, kind=kind, username=username, password=password, now=now)
            assert check.verdict is PasswordVerdict.ACCEPTED and check.identity is not None
            code = pyotp.TOTP(secret).at(now)
            assert await mfa.verify_totp(uow, check.identity.id, code, DatabaseOnlyGuard(), now=now)
    async with unit_of_work(platform.sessions) as session:
        alice = await identities.find_by_customer(session, customers[0][0])
    assert alice is not None and alice.kind is IdentityKind.CUSTOMER
    assert identities.username_of(platform.keyring, alice) == "alice"


async def test_demo_json_names_the_staff_console_registered_for_staff_logins(platform: Platform) -> None:
    path = await seed_and_write_demo(platform, platform.settings.public_base_url())

    demo = json.loads(path.read_text())
    console = demo["clients"]["staff_console"]

    assert set(console) == {"client_id", "redirect_uri", "certificate", "private_key"}
    async with unit_of_work(platform.sessions) as session:
        registered = await clients_service.get_client(session, console["client_id"])
    assert registered.identity_kind is IdentityKind.STAFF and registered.first_party
    # The demo's loopback redirect for scripts, and the staff console's callback at the issuer (web/).
    assert registered.redirect_uris == (console["redirect_uri"], f"{demo['issuer']}/console/callback")
