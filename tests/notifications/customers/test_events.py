"""Other contexts' real events become notices: a low balance once per crossing, a sign-in from a new device,
a consent's end foretold only while it is in force."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from audit.trail import platform_units
from auth_server.devices.service import Device
from auth_server.identities import service as identities
from auth_server.identities.schemas import IdentityKind, NewIdentity
from auth_server.login import service as login
from core_banking.ledger import service as ledger
from notifications.customers import service as preferences
from notifications.customers.models import Channel, Kind, MessageStatus
from notifications.customers.schemas import PreferencesUpdate
from notifications.customers.sending import NotificationSender
from obank.actor import Actor
from obank.money import Money
from obank.outbox.consumers import Consumer, apply_once
from obank.outbox.record import Event
from obank.runtime import Platform
from obank.topics import CONSENTS_TOPIC
from tests.notifications.customers.conftest import Holder, SmtpSpy, deliver_outbox, messages_of

STAFF = Actor.system("tests")
PASSWORD = "harbour lantern quietly 42"


async def _move(platform: Platform, holder: Holder, minor: int) -> None:
    async with platform_units(platform).begin(STAFF) as uow:
        money = Money(abs(minor), "GBP")
        if minor < 0:
            await ledger.withdraw(uow, holder.account.id, money, description="Cash")
        else:
            await ledger.deposit(uow, holder.account.id, money, description="Cash")


async def test_a_low_balance_is_told_once_per_crossing(
    platform: Platform, holder: Callable[..., Any], consumer: Consumer, sender: NotificationSender, smtp: SmtpSpy
) -> None:
    saver: Holder = await holder(funded_minor=10_000)
    async with platform_units(platform).begin(STAFF) as uow:
        update = PreferencesUpdate(kinds={"low_balance": [Channel.EMAIL]}, low_balance_threshold_minor=5_000)
        await preferences.replace_preferences(uow, saver.customer.id, update)

    async def low_notices() -> int:
        await deliver_outbox(platform, consumer)
        return len([m for m in await messages_of(platform, saver.customer.id) if m.kind is Kind.LOW_BALANCE])

    await _move(platform, saver, -4_000)  # 60.00 left: above
    assert await low_notices() == 0
    await _move(platform, saver, -2_000)  # 40.00: crosses below
    assert await low_notices() == 1
    await _move(platform, saver, -1_000)  # 30.00: still below, told already
    assert await low_notices() == 1
    await _move(platform, saver, 5_000)  # 80.00: above again
    await _move(platform, saver, -6_000)  # 20.00: crosses below a second time
    assert await low_notices() == 2

    await sender.send_due()
    subjects = [email["Subject"] for _, email in smtp.received]
    assert subjects == ["Your balance is below £50.00", "Your balance is below £50.00"]
    texts = [email.get_body(preferencelist=("plain",)).get_content() for _, email in smtp.received]  # type: ignore[union-attr]
    assert sorted("£40.00" in text for text in texts) == [False, True]  # sent at once: in either order
    assert sorted("£20.00" in text for text in texts) == [False, True]
    assert all(f"ending {saver.account.account_number[-4:]}" in text for text in texts)


async def test_a_sign_in_from_a_new_device_is_a_security_notice(
    platform: Platform, holder: Callable[..., Any], consumer: Consumer, sender: NotificationSender, smtp: SmtpSpy
) -> None:
    customer = (await holder()).customer
    username = f"ada-{uuid.uuid4().hex[:8]}"
    new = NewIdentity(kind=IdentityKind.CUSTOMER, username=username, password=PASSWORD, customer_id=customer.id)
    async with platform_units(platform).begin(STAFF) as uow:
        identity = await identities.create_identity(uow, new)
    laptop = Device("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", "203.0.113.7")
    phone = Device("Mozilla/5.0 (iPhone) Safari/605.1", "198.51.100.20")

    async def sign_in(device: Device) -> None:
        async with platform_units(platform).begin(Actor.system("anonymous")) as uow:
            outcome = await login.sign_in_with_password(
                uow,
                kind=IdentityKind.CUSTOMER,
                username=new.username,
                password=PASSWORD,
                require_sca=False,
                return_to=None,
                previous_session=None,
                ip_address=device.ip_address,
                device=device,
            )
            assert outcome.issued is not None

    await sign_in(laptop)  # the first device ever: nothing to tell
    await sign_in(Device(laptop.user_agent, "203.0.113.99"))  # same browser, same network
    await deliver_outbox(platform, consumer)
    assert await messages_of(platform, customer.id) == []
    await sign_in(phone)
    await deliver_outbox(platform, consumer)
    made = await messages_of(platform, customer.id)
    assert sorted((m.kind, m.channel) for m in made) == [
        (Kind.NEW_DEVICE, Channel.EMAIL),
        (Kind.NEW_DEVICE, Channel.IN_APP),
    ]

    await sender.send_due()
    ((recipients, email),) = smtp.received
    assert recipients == [customer.email] and email["Subject"] == "New sign-in to your obank account"
    raw = email.as_string()
    assert "198.51.100" not in raw and "iPhone" not in raw and str(identity.id) not in raw


async def test_a_consents_end_is_foretold_only_while_it_is_in_force(
    platform: Platform, holder: Callable[..., Any], consumer: Consumer, sender: NotificationSender, smtp: SmtpSpy
) -> None:
    customer = (await holder()).customer
    expires_at = datetime.now(UTC) + timedelta(days=30)
    payload = {
        "consent_id": "aac-not-in-force",
        "kind": "ACCOUNT_ACCESS",
        "client_id": "budget-app",
        "status": "Authorised",
        "customer_id": str(customer.id),
        "account_ids": [],
        "revoked_by": None,
        "permissions": ["ReadAccountsBasic"],
        "expires_at": expires_at.isoformat(),
    }
    event = Event(uuid.uuid4(), CONSENTS_TOPIC, "consent.authorised", "aac-not-in-force", payload, "corr-1")
    await apply_once(platform.sessions, consumer, event)
    made = await messages_of(platform, customer.id)
    reminders = [m for m in made if m.kind is Kind.CONSENT_EXPIRING]
    notice_days = platform.settings.notifications_consent_expiry_notice_days
    assert {m.next_attempt_at for m in reminders} == {expires_at - timedelta(days=notice_days)}

    await sender.send_due()  # now: the grant notice goes, the reminder waits
    assert [email["Subject"] for _, email in smtp.received] == ["You gave budget-app access"]
    await sender.send_due(now=expires_at - timedelta(days=1))  # the consent is not in force (unknown): skipped
    assert len(smtp.received) == 1
    reminders = [m for m in await messages_of(platform, customer.id) if m.kind is Kind.CONSENT_EXPIRING]
    assert {m.status for m in reminders} == {MessageStatus.SKIPPED}
