"""TOTP enrolment and verification with replay refusal, and single-use recovery codes."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.mfa import repository, totp
from auth_server.mfa.errors import AlreadyEnrolled, EnrolmentCodeRejected, NotEnrolled
from auth_server.mfa.models import RecoveryCode, TotpCredential
from auth_server.mfa.replay import ReplayGuard
from auth_server.mfa.schemas import SecondFactors, TotpEnrolment
from obank.crypto import KeyRing, lookup_hashes, seal, unseal
from obank.unit_of_work import UnitOfWork

SECRET_PURPOSE = "totp-secret"  # noqa: S105 (a label, not a secret)
RECOVERY_CODE_PURPOSE = "auth-recovery-code"
RECOVERY_CODE_COUNT = 10
# Crockford's base32 alphabet: no I, L, O or U to misread; 10 characters carry 50 random bits.
_RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_RECOVERY_LENGTH = 10


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
    keyring: KeyRing, credential: TotpCredential, code: str, guard: ReplayGuard, now: datetime
) -> bool:
    # RFC 6238 s5.2: a code accepted once is never accepted again; a step at or before the last
    # accepted one is refused, so is a step another instance claimed first in Redis.
    step = totp.matching_step(_secret(keyring, credential), code, now)
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
