"""Which device a sign-in comes from, and `login.new_device` when a customer's comes from one not seen before."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime

from auth_server.auditing import SecurityEvent, report_security_events
from auth_server.devices import repository
from auth_server.identities.schemas import IdentityRecord
from obank.actor import Actor, ActorKind
from obank.crypto import KeyRing
from obank.unit_of_work import UnitOfWork

NEW_DEVICE = "login.new_device"
DEVICE_HASH_PURPOSE = "auth-known-device"
MAX_USER_AGENT = 512


@dataclass(frozen=True, slots=True)
class Device:
    """What the browser tells of itself: its user agent and its address (kept only as a keyed hash)."""

    user_agent: str | None
    ip_address: str | None

    def fingerprint(self) -> bytes:
        """The user agent and the address's network (/24, /48): an address change within it is the same device."""
        network = ""
        if self.ip_address is not None:
            address = ipaddress.ip_address(self.ip_address)
            prefix = 24 if address.version == 4 else 48
            network = ipaddress.ip_network(f"{address}/{prefix}", strict=False).compressed
        return f"{(self.user_agent or '')[:MAX_USER_AGENT]}\n{network}".encode()


def device_hash(keyring: KeyRing, device: Device) -> bytes:
    """The device's keyed hash: how known devices are stored and how fraud scoring recognises the device."""
    return keyring.keyed_hash(DEVICE_HASH_PURPOSE, device.fingerprint())


async def note_sign_in(
    uow: UnitOfWork, identity: IdentityRecord, device: Device | None, session_id: str, now: datetime
) -> None:
    """Remember the device a customer signed in from; from a new one (not their first ever), report it."""
    if device is None or identity.customer_id is None:
        return
    had_devices = await repository.has_devices(uow.session, identity.id)
    if await repository.remember(uow.session, identity.id, device_hash(uow.keyring, device), now) and had_devices:
        actor = Actor(ActorKind.CUSTOMER, str(identity.customer_id), session_id=session_id)
        details = {"kind": identity.kind.value, "session_id": session_id, "signed_in_at": now.isoformat()}
        event = SecurityEvent(NEW_DEVICE, actor, "identity", str(identity.id), details, device.ip_address)
        report_security_events(uow, event)
