"""TOTP enrolment, replacement and verification with replay refusal, and single-use recovery codes."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.auditing import SecurityEvent, report_security_events
from auth_server.identities.schemas import IdentityRecord
from auth_server.mfa import repository, totp
from auth_server.mfa.errors import AlreadyEnrolled, EnrolmentCodeRejected, NotEnrolled, ReplacementExpired
from auth_server.mfa.models import RecoveryCode, TotpCredential
from auth_server.mfa.replay import ReplayGuard
from auth_server.mfa.schemas import Replacement, ReplacementOffer, SecondFactors, TotpEnrolment
from auth_server.sessions import service as sessions_service
from auth_server.sessions.schemas import SessionRecord
from obank.actor import Actor, ActorKind
from obank.crypto import KeyRing, lookup_hashes, seal, unseal
from obank.revocation import RevocationList
from obank.unit_of_work import UnitOfWork

SECRET_PURPOSE = "totp-secret"  # noqa: S105 (a label, not a secret)
RECOVERY_CODE_PURPOSE = "auth-recovery-code"
RECOVERY_CODE_COUNT = 10
# Crockford's base32 alphabet: no I, L, O or U to misread; 10 characters carry 50 random bits.
_RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_RECOVERY_LENGTH = 10
REPLACEMENT_PURPOSE = "totp-replacement-offer"
# A sealed offer is about 150 characters; anything much longer did not come from the page.
_MAX_SEALED_OFFER = 512
# Replacing the authenticator app or the recovery codes needs both factors proven this recently: time to install
# a new app and scan its QR code (a payment's step-up, one click, asks for 5 minutes).
STEP_UP_MAX_AGE = timedelta(minutes=15)
# Action names of the security events (outbox event types and audit actions). A replaced app is reported as an
# enrolment, which fraud features (`totp_changed_at`) and customer notices ("authenticator app changed") act on.
TOTP_ENROLLED = "mfa.enrolled"
RECOVERY_CODES_RENEWED = "mfa.recovery_codes_renewed"
ENDED_BY_REPLACEMENT = "totp_replaced"


def _secret(keyring: KeyRing, credential: TotpCredential) -> str:
    return unseal(keyring, credential.identity_id, SECRET_PURPOSE, credential.secret_sealed).decode()


def _enrolment(secret: str, account_name: str) -> TotpEnrolment:
    uri = totp.provisioning_uri(secret, account_name)
    return TotpEnrolment(secret=secret, provisioning_uri=uri, qr_svg=totp.qr_code_svg(uri))


async def is_enrolled(session: AsyncSession, identity_id: uuid.UUID) -> bool:
    """Whether the identity has a confirmed TOTP credential."""
    credential = await repository.get_totp(session, identity_id)
    return credential is not None and credential.confirmed_at is not None


async def begin_enrolment(
    uow: UnitOfWork, identity_id: uuid.UUID, account_name: str, *, now: datetime | None = None
) -> TotpEnrolment:
    """The pending secret to show (created once, so reloading the page keeps the QR code already scanned)."""
    keyring = uow.keyring
    credential = await repository.get_totp(uow.session, identity_id, for_update=True)
    if credential is not None and credential.confirmed_at is not None:
        raise AlreadyEnrolled()
    if credential is None:
        secret = totp.new_secret()
        credential = TotpCredential(
            identity_id=identity_id,
            secret_sealed=seal(keyring, identity_id, SECRET_PURPOSE, secret.encode()),
            created_at=now or datetime.now(UTC),
        )
        await repository.add(uow.session, credential)
    return _enrolment(_secret(keyring, credential), account_name)


async def _accept_code(
    keyring: KeyRing,
    credential: TotpCredential,
    code: str,
    guard: ReplayGuard,
    now: datetime,
    *,
    secret: str | None = None,
) -> bool:
    # RFC 6238 s5.2: a code accepted once is never accepted again; a step at or before the last
    # accepted one is refused, so is a step another instance claimed first in Redis. A replacement
    # `secret` is checked in the same sequence of steps: one accepted code per step per login.
    step = totp.matching_step(secret if secret is not None else _secret(keyring, credential), code, now)
    if step is None or (credential.last_used_step is not None and step <= credential.last_used_step):
        return False
    if not await guard.claim(credential.identity_id, step):
        return False
    credential.last_used_step = step
    return True


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def _normalise_recovery_code(code: str) -> bytes:
    return "".join(ch for ch in code.lower() if ch.isalnum()).encode()


async def _issue_recovery_codes(uow: UnitOfWork, identity_id: uuid.UUID, now: datetime) -> list[str]:
    keyring = uow.keyring
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    rows = [
        RecoveryCode(
            id=uuid.uuid4(),
            identity_id=identity_id,
            code_hash=keyring.keyed_hash(RECOVERY_CODE_PURPOSE, identity_id.bytes + _normalise_recovery_code(code)),
            created_at=now,
        )
        for code in codes
    ]
    await repository.replace_recovery_codes(uow.session, identity_id, rows)
    return codes


async def confirm_enrolment(
    uow: UnitOfWork,
    identity_id: uuid.UUID,
    code: str,
    guard: ReplayGuard,
    *,
    now: datetime | None = None,
) -> list[str]:
    """Confirm the pending secret with a first code; returns ten recovery codes, shown once and stored hashed."""
    now = now or datetime.now(UTC)
    credential = await repository.get_totp(uow.session, identity_id, for_update=True)
    if credential is None:
        raise NotEnrolled()
    if credential.confirmed_at is not None:
        raise AlreadyEnrolled()
    if not await _accept_code(uow.keyring, credential, code, guard, now):
        raise EnrolmentCodeRejected()
    credential.confirmed_at = now
    await uow.session.flush()
    return await _issue_recovery_codes(uow, identity_id, now)


async def enrol_with_secret(
    uow: UnitOfWork, identity_id: uuid.UUID, secret: str, *, now: datetime | None = None
) -> None:
    """Enrol a known secret without a confirming code (demo identities only)."""
    now = now or datetime.now(UTC)
    if await repository.get_totp(uow.session, identity_id) is not None:
        raise AlreadyEnrolled()
    await repository.add(
        uow.session,
        TotpCredential(
            identity_id=identity_id,
            secret_sealed=seal(uow.keyring, identity_id, SECRET_PURPOSE, secret.encode()),
            confirmed_at=now,
            created_at=now,
        ),
    )


async def discard_pending_enrolment(uow: UnitOfWork, identity_id: uuid.UUID) -> None:
    """Forget a secret that was shown but never confirmed."""
    credential = await repository.get_totp(uow.session, identity_id, for_update=True)
    if credential is not None and credential.confirmed_at is None:
        await repository.delete_totp(uow.session, credential)


async def confirmed_secret(uow: UnitOfWork, identity_id: uuid.UUID) -> str | None:
    """The confirmed TOTP secret in clear (demo seeding reports it); None when not enrolled."""
    credential = await repository.get_totp(uow.session, identity_id)
    if credential is None or credential.confirmed_at is None:
        return None
    return _secret(uow.keyring, credential)


async def verify_totp(
    uow: UnitOfWork,
    identity_id: uuid.UUID,
    code: str,
    guard: ReplayGuard,
    *,
    now: datetime | None = None,
) -> bool:
    """Whether `code` is a valid, never-used code of the identity's confirmed secret; accepting it uses it up."""
    credential = await repository.get_totp(uow.session, identity_id, for_update=True)
    if credential is None or credential.confirmed_at is None:
        raise NotEnrolled()
    accepted = await _accept_code(uow.keyring, credential, code, guard, now or datetime.now(UTC))
    await uow.session.flush()
    return accepted


async def use_recovery_code(
    uow: UnitOfWork, identity_id: uuid.UUID, code: str, *, now: datetime | None = None
) -> int | None:
    """Spend one recovery code; returns how many remain, or None when the code is unknown or used."""
    value = identity_id.bytes + _normalise_recovery_code(code)
    row = await repository.find_unused_recovery_code(
        uow.session, identity_id, lookup_hashes(uow.keyring, RECOVERY_CODE_PURPOSE, value)
    )
    if row is None:
        return None
    await repository.mark_recovery_code_used(uow.session, row, now or datetime.now(UTC))
    return await repository.count_unused_recovery_codes(uow.session, identity_id)


async def second_factors(session: AsyncSession, identity_id: uuid.UUID) -> SecondFactors:
    """The identity's confirmed TOTP (or none) and its unused recovery codes."""
    return SecondFactors(
        totp_enrolled=await is_enrolled(session, identity_id),
        recovery_codes_left=await repository.count_unused_recovery_codes(session, identity_id),
    )


async def remove_second_factors(uow: UnitOfWork, identity_id: uuid.UUID) -> SecondFactors:
    """Forget the identity's TOTP secret (confirmed or pending) and every recovery code; returns what it held.

    Its next sign-in that needs a second factor (every staff sign-in, a customer's strong one) enrols a new TOTP.
    """
    credential = await repository.get_totp(uow.session, identity_id, for_update=True)
    held = SecondFactors(
        totp_enrolled=credential is not None and credential.confirmed_at is not None,
        recovery_codes_left=await repository.count_unused_recovery_codes(uow.session, identity_id),
    )
    if credential is not None:
        await repository.delete_totp(uow.session, credential)
    await repository.replace_recovery_codes(uow.session, identity_id, [])
    return held


def is_recently_strong(record: SessionRecord, now: datetime) -> bool:
    """Whether the session proved password and one-time code at most `STEP_UP_MAX_AGE` ago."""
    return record.is_strong and record.auth_time is not None and now - record.auth_time <= STEP_UP_MAX_AGE


def _actor(identity: IdentityRecord, session_id: uuid.UUID) -> Actor:
    """The person themselves: a customer by core banking's customer id (one id across every audit record)."""
    return Actor(ActorKind(identity.kind.value), str(identity.customer_id or identity.id), session_id=str(session_id))


def _customer_id(identity: IdentityRecord) -> str | None:
    return None if identity.customer_id is None else str(identity.customer_id)


def offer_replacement(keyring: KeyRing, session_id: uuid.UUID, account_name: str) -> ReplacementOffer:
    """A new secret to show, sealed to the browser session so only that session's form can bring it back."""
    secret = totp.new_secret()
    sealed = seal(keyring, session_id, REPLACEMENT_PURPOSE, secret.encode())
    return ReplacementOffer(_enrolment(secret, account_name), base64.urlsafe_b64encode(sealed).decode())


def reopen_replacement(keyring: KeyRing, session_id: uuid.UUID, sealed: str, account_name: str) -> ReplacementOffer:
    """The offer a form brought back; ReplacementExpired unless it was sealed to this very session."""
    if not sealed or len(sealed) > _MAX_SEALED_OFFER:
        raise ReplacementExpired()
    try:
        opened = unseal(keyring, session_id, REPLACEMENT_PURPOSE, base64.urlsafe_b64decode(sealed.encode("ascii")))
        secret = opened.decode("ascii")
    except (ValueError, KeyError, IndexError, InvalidTag, InvalidUnwrap) as unreadable:
        raise ReplacementExpired() from unreadable
    return ReplacementOffer(_enrolment(secret, account_name), sealed)


async def replace_authenticator(
    uow: UnitOfWork,
    *,
    identity: IdentityRecord,
    browser: SessionRecord,
    secret: str,
    code: str,
    guard: ReplayGuard,
    revocations: RevocationList,
    ip_address: str | None,
    now: datetime | None = None,
) -> Replacement:
    """Replace an enrolled login's TOTP secret with `secret` once a code from the new app confirms it.

    The caller has checked the browser proved both factors recently (`is_recently_strong`). The old app's codes and
    every old recovery code stop working, new recovery codes are returned (shown once), the login's other sessions
    end with what the bank's own apps obtained through them (a lost phone may be in someone else's hands) and this
    one gets a new token. Raises EnrolmentCodeRejected
    for a wrong or replayed code, with nothing changed; like a first enrolment's, it does not count towards
    lockout (the secret was shown to this session moments ago; guessing its codes gains nothing).
    """
    now = now or datetime.now(UTC)
    credential = await repository.get_totp(uow.session, identity.id, for_update=True)
    if credential is None or credential.confirmed_at is None:
        raise NotEnrolled()
    if not await _accept_code(uow.keyring, credential, code, guard, now, secret=secret):
        raise EnrolmentCodeRejected()
    credential.secret_sealed = seal(uow.keyring, identity.id, SECRET_PURPOSE, secret.encode())
    credential.confirmed_at = credential.created_at = now
    await uow.session.flush()
    recovery_codes = await _issue_recovery_codes(uow, identity.id, now)
    ended = await sessions_service.end_identity_sessions(
        uow,
        identity.id,
        revocations=revocations,
        reason=ENDED_BY_REPLACEMENT,
        now=now,
        keep=browser.id,
        actor=_actor(identity, browser.id),
    )
    issued = await sessions_service.reissue_token(uow, browser.id, now=now)
    details = {
        "kind": identity.kind.value,
        "method": "totp",
        "customer_id": _customer_id(identity),
        "replaced": True,
        "other_sessions_ended": ended,
    }
    enrolled = SecurityEvent(
        TOTP_ENROLLED, _actor(identity, browser.id), "identity", str(identity.id), details, ip_address
    )
    report_security_events(uow, enrolled)
    return Replacement(issued, recovery_codes, ended)


async def renew_recovery_codes(
    uow: UnitOfWork,
    *,
    identity: IdentityRecord,
    browser: SessionRecord,
    ip_address: str | None,
    now: datetime | None = None,
) -> list[str]:
    """A new set of ten recovery codes for an enrolled login (shown once); every old one stops working.

    The caller has checked the browser proved both factors recently (`is_recently_strong`).
    """
    now = now or datetime.now(UTC)
    # The credential's row lock orders concurrent renewals, so one set survives, never two.
    credential = await repository.get_totp(uow.session, identity.id, for_update=True)
    if credential is None or credential.confirmed_at is None:
        raise NotEnrolled()
    unused = await repository.count_unused_recovery_codes(uow.session, identity.id)
    recovery_codes = await _issue_recovery_codes(uow, identity.id, now)
    details = {"kind": identity.kind.value, "customer_id": _customer_id(identity), "unused_codes_replaced": unused}
    renewed = SecurityEvent(
        RECOVERY_CODES_RENEWED, _actor(identity, browser.id), "identity", str(identity.id), details, ip_address
    )
    report_security_events(uow, renewed)
    return recovery_codes
