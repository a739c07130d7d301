"""Demo data for `obank serve` and `obank demo`, and `var/demo.json` telling a person or a script how to reach it.

Part of the composition root (with `bank.cli`): it asks each context's own demo module to seed its part.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from audit.trail import platform_units
from auth_server.demo import seed_demo_identities
from auth_server.oauth.demo import seed_demo_clients
from core_banking.demo import seed_demo_bank
from core_banking.facade import InProcessCoreBanking
from faster_payments.registry import ensure_registry
from fraud.demo import seed_demo_fraud
from obank.certs import DEMO_TPP, STAFF_DEVICE
from obank.database import unit_of_work
from obank.runtime import Platform

DEMO_FILE = "demo.json"


def _display_path(path: Path) -> str:
    """Relative to the current directory when inside it (the quickstart's view from a checkout), else absolute."""
    resolved, here = path.resolve(), Path.cwd().resolve()
    return str(resolved.relative_to(here)) if resolved.is_relative_to(here) else str(resolved)


async def seed_and_write_demo(platform: Platform, issuer: str) -> Path:
    """Write `var/demo.json`: the issuer, the CA a client must trust, the demo identities seeded, and every file
    a client needs (the demo TPP's signing key, client certificate and that certificate's TLS key)."""
    settings = platform.settings
    units = platform_units(platform)
    # Each context seeds in its own transaction: the logins refer to customers by id only.
    customers = await seed_demo_bank(units)
    identities = await seed_demo_identities(
        units, platform.revocations, [(customer.customer_id, customer.email) for customer in customers]
    )
    clients = await seed_demo_clients(units, settings.certs_dir, issuer)
    async with unit_of_work(platform.sessions) as session:
        await ensure_registry(session)  # the simulated scheme's other banks, for payments out of the bank
    first = customers[0]
    paying = next(account for account in first.accounts if account.currency == "GBP")
    # A fraud case for the demo analyst: the first customer's payment to a listed mule, stopped by the saga.
    await seed_demo_fraud(
        units, InProcessCoreBanking(platform.sessions, platform.keyring), first.customer_id, paying.account_id
    )
    logins = {login.customer_id: login for login in identities.customers}
    demo: dict[str, Any] = {
        "issuer": issuer,
        "ca_cert": _display_path(settings.certs_dir / "ca.pem"),
        "customers": [
            {
                "customer_id": str(customer.customer_id),
                "username": logins[customer.customer_id].username,
                "password": logins[customer.customer_id].password,
                "totp_secret": logins[customer.customer_id].totp_secret,
                "name": customer.full_name,
                "email": customer.email,
                "accounts": [
                    {
                        "id": str(account.account_id),
                        "currency": account.currency,
                        "type": account.account_type.value,
                        "iban": account.iban,
                    }
                    for account in customer.accounts
                ],
            }
            for customer in customers
        ],
        "staff": [
            {
                "username": staff.username,
                "password": staff.password,
                "totp_secret": staff.totp_secret,
                "roles": [str(role) for role in staff.roles],
            }
            for staff in identities.staff
        ],
        "clients": {
            "tpp": {
                "client_id": clients.tpp.client_id,
                # private_key_jwt (RFC 7523): the key the TPP signs its client assertions with, and its kid.
                "private_key": _display_path(clients.tpp.private_key),
                "key_id": clients.tpp.key_id,
                # UK Open Banking message signing (x-jws-signature, PS256), for payment initiation.
                "message_signing_key": _display_path(clients.tpp.message_private_key),
                "message_key_id": clients.tpp.message_key_id,
                # mTLS (RFC 8705): the client certificate its tokens are bound to, and that certificate's key.
                "certificate": _display_path(clients.tpp.certificate),
                "certificate_key": _display_path(settings.certs_dir / f"{DEMO_TPP.name}.key"),
                "redirect_uri": clients.tpp.redirect_uri,
            },
            "first_party": {
                "client_id": clients.first_party_client_id,
                "redirect_uri": clients.first_party_redirect_uri,
            },
            "staff_console": {
                "client_id": clients.staff_console_client_id,
                "redirect_uri": clients.staff_console_redirect_uri,
                # The device certificate the console presents at the token endpoint and to the gateway.
                "certificate": _display_path(settings.certs_dir / f"{STAFF_DEVICE.name}.pem"),
                "private_key": _display_path(settings.certs_dir / f"{STAFF_DEVICE.name}.key"),
            },
        },
    }
    path = settings.data_dir / DEMO_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{DEMO_FILE}.tmp")
    # Private to the owner: the demo identities come with their credentials.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(json.dumps(demo, indent=2) + "\n")
    os.replace(temporary, path)
    return path
