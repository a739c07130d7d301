"""Demo logins for `obank serve` and `obank demo`: customers (TOTP already enrolled) and one staff login per role.

Passwords derive from the installation's key ring, so reruns report the same ones and none is committed
anywhere; TOTP secrets are random once and read back (decrypted) on reruns.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from auth_server.identities import repository as identities_repository
from auth_server.identities import service as identities_service
from auth_server.identities.passwords import verify_password
from auth_server.identities.schemas import IdentityKind, IdentityRecord, NewIdentity
from auth_server.mfa import service as mfa_service
from auth_server.mfa import totp
from obank.actor import Actor
from obank.crypto import KeyRing
from obank.revocation import RevocationList
from obank.roles import StaffRole
from obank.unit_of_work import UnitOfWork, UnitsOfWork

DEMO_ACTOR = Actor.system("auth_server.demo")
_PASSWORD_PURPOSE = "auth-demo-password"  # noqa: S105 (a label, not a secret)

# One staff login per role, so each role's view can be tried.
DEMO_STAFF: tuple[tuple[str, StaffRole], ...] = (
    ("admin", StaffRole.ADMIN),
    ("support", StaffRole.SUPPORT),
    ("fraud-analyst", StaffRole.FRAUD_ANALYST),
    ("auditor", StaffRole.AUDITOR),
)


@dataclass(frozen=True, slots=True)
class DemoCustomerLogin:
    customer_id: uuid.UUID
    username: str
    password: str
    totp_secret: str


@dataclass(frozen=True, slots=True)
class DemoStaffLogin:
    username: str
    password: str
    totp_secret: str
    roles: tuple[StaffRole, ...]


@dataclass(frozen=True, slots=True)
class DemoIdentities:
    customers: tuple[DemoCustomerLogin, ...]
    staff: tuple[DemoStaffLogin, ...]


def demo_password(keyring: KeyRing, kind: IdentityKind, username: str) -> str:
    """A strong password, the same at every run of this installation: `demo-` and five groups of four."""
    digest = keyring.keyed_hash(_PASSWORD_PURPOSE, f"{kind.value}:{username}".encode())
    letters = base64.b32encode(digest).decode().lower()[:20]
    return "demo-" + "-".join(letters[i : i + 4] for i in range(0, 20, 4))


async def _ensure_login(
    uow: UnitOfWork, revocations: RevocationList, new: NewIdentity, existing: IdentityRecord | None, now: datetime
) -> tuple[IdentityRecord, str]:
    """The login with its demo password and a confirmed TOTP secret, created or repaired as needed."""
    if existing is None:
        identity = await identities_service.create_identity(uow, new, now=now)
    else:
        identity = existing
        row = await identities_repository.get(uow.session, identity.id)
        # The derived password changes when the active key rotates: reset it so var/demo.json stays true.
        if row is not None and not await verify_password(row.password_hash, new.password):
            identity = await identities_service.reset_password(
                uow, identity.id, new.password, revocations=revocations, now=now
            )
    secret = await mfa_service.confirmed_secret(uow, identity.id)
    if secret is None:
        secret = totp.new_secret()
        await mfa_service.discard_pending_enrolment(uow, identity.id)
        await mfa_service.enrol_with_secret(uow, identity.id, secret, now=now)
    return identity, secret


async def seed_demo_identities(
    units: UnitsOfWork, revocations: RevocationList, customers: list[tuple[uuid.UUID, str]]
) -> DemoIdentities:
    """Ensure a TOTP-enrolled login per `(customer_id, username)` and one staff login per role; idempotent.

    One transaction of its own, acting as the demo; a password reset (after a key rotation) revokes through
    `revocations` what the login's sessions issued.
    """
    async with units.begin(DEMO_ACTOR) as uow:
        return await _seed(uow, revocations, customers)


async def _seed(uow: UnitOfWork, revocations: RevocationList, customers: list[tuple[uuid.UUID, str]]) -> DemoIdentities:
    session, keyring = uow.session, uow.keyring
    await identities_repository.lock_provisioning(session, "auth_server.demo")
    now = datetime.now(UTC)
    customer_logins = []
    for customer_id, username in customers:
        password = demo_password(keyring, IdentityKind.CUSTOMER, username)
        new = NewIdentity(kind=IdentityKind.CUSTOMER, username=username, password=password, customer_id=customer_id)
        existing = await identities_service.find_by_customer(session, customer_id)
        identity, secret = await _ensure_login(uow, revocations, new, existing, now)
        shown = identities_service.username_of(keyring, identity)
        customer_logins.append(DemoCustomerLogin(customer_id, shown, password, secret))
    staff_logins = []
    for username, role in DEMO_STAFF:
        password = demo_password(keyring, IdentityKind.STAFF, username)
        new = NewIdentity(kind=IdentityKind.STAFF, username=username, password=password, roles=frozenset({role}))
        existing = await identities_service.find_identity(uow, IdentityKind.STAFF, username)
        identity, secret = await _ensure_login(uow, revocations, new, existing, now)
        shown = identities_service.username_of(keyring, identity)
        staff_logins.append(DemoStaffLogin(shown, password, secret, tuple(sorted(identity.roles))))
    return DemoIdentities(tuple(customer_logins), tuple(staff_logins))
