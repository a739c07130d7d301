"""Signing in: password, then a TOTP or recovery code (or enrolment), each step audited, lockout enforced.

A customer's sign-in is scored by the fraud engine once the password is accepted: MONITOR and above force the
TOTP (or its enrolment), BLOCK refuses the sign-in as any refusal looks and locks the login until staff unlock it.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher

from auth_server.auditing import SecurityEvent, report_security_events
from auth_server.devices import service as devices_service
from auth_server.devices.service import Device
from auth_server.identities import service as identities_service
from auth_server.identities.passwords import HASHER
from auth_server.identities.schemas import IdentityKind, IdentityRecord, normalise_username
from auth_server.identities.service import PasswordCheck
from auth_server.login.schemas import EnrolmentOutcome, NextStep, PasswordStepOutcome, SecondFactorOutcome
from auth_server.mfa import service as mfa_service
from auth_server.mfa.replay import ReplayGuard
from auth_server.sessions import service as sessions_service
from auth_server.sessions.schemas import ACR_CA, ACR_SCA, AMR_OTP, AMR_PASSWORD, SessionRecord, SessionStage
from fraud.decisions import Decision, FraudSignIns, Recommendation, RuleHit, SignInDecision, SignInFacts
from fraud.geo import default_geolocation
from obank import metrics
from obank.actor import Actor, ActorKind
from obank.crypto import KeyRing
from obank.log import describe_error, get_logger
from obank.revocation import RevocationList
from obank.unit_of_work import UnitOfWork

USERNAME_HASH_PURPOSE = "auth-attempted-username"
RISK_ASSESSED = "login.risk_assessed"
RISK_REASON = "risk"
# The sign-in waits this long for the fraud engine; past it (or if it fails) the TOTP is required instead.
ASSESSMENT_TIMEOUT_SECONDS = 2.0
ASSESSMENT_UNAVAILABLE = "assessment_unavailable"
_log = get_logger("auth_server.login")


def _actor(identity: IdentityRecord, session_id: str | None = None) -> Actor:
    """The person signing in: a customer by core banking's customer id (one id across every audit record)."""
    return Actor(ActorKind(identity.kind.value), str(identity.customer_id or identity.id), session_id=session_id)


def _attempted_login(keyring: KeyRing, kind: IdentityKind, username: str) -> str:
    """A pseudonym for a username nobody holds: typed usernames may be passwords typed in the wrong field."""
    digest = keyring.keyed_hash(USERNAME_HASH_PURPOSE, f"{kind.value}:{normalise_username(username)}".encode())
    return f"attempt:{digest.hex()[:32]}"


def _customer_id(identity: IdentityRecord) -> str | None:
    """Core banking's id of a customer's login (None for staff), as the fraud features are keyed."""
    return None if identity.customer_id is None else str(identity.customer_id)


def _device_hash(keyring: KeyRing, identity: IdentityRecord, device: Device | None) -> str | None:
    """A customer's device as fraud scoring and known devices recognise it (hex); staff devices are not scored."""
    if device is None or identity.customer_id is None:
        return None
    return devices_service.device_hash(keyring, device).hex()


def _failure_events(
    kind: IdentityKind,
    identity: IdentityRecord,
    factor: str,
    reason: str,
    locked_until: datetime | None,
    ip_address: str | None,
    session_id: str | None = None,
    lock_reason: str = "failed_attempts",
) -> list[SecurityEvent]:
    metrics.login_failed(reason)
    actor = _actor(identity, session_id)
    details: dict[str, Any] = {"kind": kind.value, "factor": factor, "reason": reason}
    events = [SecurityEvent("login.failed", actor, "identity", str(identity.id), details, ip_address)]
    if locked_until is not None:
        lock = {
            "kind": kind.value,
            "reason": lock_reason,
            "locked_until": locked_until.isoformat(),
            "failed_login_attempts": identity.failed_login_attempts,
        }
        events.append(SecurityEvent("identity.locked", actor, "identity", str(identity.id), lock, ip_address))
    return events


def _success_event(
    keyring: KeyRing, identity: IdentityRecord, record: SessionRecord, ip_address: str | None, device: Device | None
) -> SecurityEvent:
    """`login.succeeded` with what fraud features learn from it: the customer, the country and the device."""
    details = {
        "kind": identity.kind.value,
        "amr": list(record.amr),
        "acr": record.acr,
        "session_id": str(record.id),
        "customer_id": _customer_id(identity),
        "country": default_geolocation().country_of(ip_address),
        "device_hash": _device_hash(keyring, identity, device),
    }
    actor = _actor(identity, str(record.id))
    return SecurityEvent("login.succeeded", actor, "identity", str(identity.id), details, ip_address)


def _risk_event(
    identity: IdentityRecord, assessed: SignInDecision, session_id: str | None, ip_address: str | None
) -> SecurityEvent:
    """`login.risk_assessed`: a customer's sign-in the fraud engine did not simply approve, with its reasons."""
    decision = assessed.decision
    details = {
        "kind": identity.kind.value,
        "customer_id": _customer_id(identity),
        "score": decision.score,
        "recommendation": decision.recommendation.value,
        "rules": [{"rule": hit.rule, "contribution": hit.contribution} for hit in decision.rules],
        "engine": decision.engine,
        "country": assessed.country,
        "new_device": assessed.new_device,
        "session_id": session_id,
    }
    return SecurityEvent(RISK_ASSESSED, _actor(identity, session_id), "identity", str(identity.id), details, ip_address)


async def _assess(
    keyring: KeyRing,
    sign_ins: FraudSignIns,
    identity: IdentityRecord,
    customer_id: uuid.UUID,
    device: Device | None,
    ip_address: str | None,
    now: datetime,
) -> SignInDecision:
    """Ask the fraud engine about a customer's sign-in; when it fails or is slow, the sign-in needs the TOTP."""
    facts = SignInFacts(identity.id, customer_id, _device_hash(keyring, identity, device), ip_address, now)
    try:
        async with asyncio.timeout(ASSESSMENT_TIMEOUT_SECONDS):
            return await sign_ins.assess_sign_in(facts)
    except Exception as failure:  # any failure of the engine falls back to the second factor
        _log.warning("sign_in_assessment_failed", error=describe_error(failure))
    unassessed = Decision(0, Recommendation.MONITOR, (RuleHit(ASSESSMENT_UNAVAILABLE, 0),), "auth_server")
    return SignInDecision(unassessed, default_geolocation().country_of(ip_address), new_device=False)


async def _refuse_risky(
    uow: UnitOfWork,
    revocations: RevocationList,
    identity: IdentityRecord,
    assessed: SignInDecision,
    ip_address: str | None,
    now: datetime,
) -> PasswordStepOutcome:
    """A blocked sign-in: refused as any other, the login locked until staff unlock it, its sessions ended with
    what the bank's own apps obtained through them.

    Ending the login's sessions also ends any sign-in still in progress elsewhere, which could otherwise
    complete (enrolment, for one) and clear the lock.
    """
    locked = await identities_service.lock_until_unlocked(uow, identity.id, now=now)
    await sessions_service.end_identity_sessions(uow, identity.id, revocations=revocations, reason="locked", now=now)
    failure = _failure_events(
        identity.kind, locked, "password", RISK_REASON, locked.locked_until, ip_address, lock_reason=RISK_REASON
    )
    report_security_events(uow, _risk_event(identity, assessed, None, ip_address), *failure)
    return PasswordStepOutcome(None)


def _refuse_password(
    uow: UnitOfWork, kind: IdentityKind, username: str, check: PasswordCheck, ip_address: str | None
) -> PasswordStepOutcome:
    identity = check.identity
    if identity is None:
        entity = _attempted_login(uow.keyring, kind, username)
        metrics.login_failed(check.verdict.value)
        details = {"kind": kind.value, "factor": "password", "reason": check.verdict.value}
        actor = Actor(ActorKind(kind.value), entity)
        events = [SecurityEvent("login.failed", actor, "login_attempt", entity, details, ip_address)]
    else:
        events = _failure_events(kind, identity, "password", check.verdict.value, check.newly_locked_until, ip_address)
    report_security_events(uow, *events)
    return PasswordStepOutcome(None)


async def sign_in_with_password(
    uow: UnitOfWork,
    *,
    kind: IdentityKind,
    username: str,
    password: str,
    require_sca: bool,
    return_to: str | None,
    previous_session: SessionRecord | None,
    ip_address: str | None,
    hasher: PasswordHasher = HASHER,
    now: datetime | None = None,
    device: Device | None = None,
    sign_ins: FraudSignIns | None = None,
    revocations: RevocationList | None = None,
) -> PasswordStepOutcome:
    """Check the password; on success end the browser's previous session and start a new one at the next step.

    Staff always need their TOTP (and must enrol first); customers need it whenever they have one, the
    caller demands strong authentication (`require_sca`) or `sign_ins` (the fraud engine) finds the sign-in
    risky, else a password-only session results. A customer's sign-in it blocks is refused and locks the login.
    Without `sign_ins` (callers testing other steps) sign-ins are not scored; staff sign-ins never are. With it,
    `revocations` (the deny-list) is required: a blocked sign-in ends the login's sessions and what they issued.
    """
    if sign_ins is not None and revocations is None:
        raise ValueError("a scored sign-in needs the deny-list: blocking it revokes what the login's sessions issued")
    now = now or datetime.now(UTC)
    check = await identities_service.check_password(
        uow, kind=kind, username=username, password=password, now=now, hasher=hasher
    )
    if not check.accepted or check.identity is None:
        return _refuse_password(uow, kind, username, check, ip_address)
    identity = check.identity
    assessed: SignInDecision | None = None
    if sign_ins is not None and kind is IdentityKind.CUSTOMER and identity.customer_id is not None:
        assessed = await _assess(uow.keyring, sign_ins, identity, identity.customer_id, device, ip_address, now)
    recommendation = Recommendation.APPROVE if assessed is None else assessed.decision.recommendation
    if assessed is not None and recommendation is Recommendation.BLOCK:
        assert revocations is not None  # checked above: `assessed` comes from `sign_ins`
        return await _refuse_risky(uow, revocations, identity, assessed, ip_address, now)
    if previous_session is not None:
        await sessions_service.end_session(uow, previous_session.id, reason="signed_in_again", now=now)
    if await mfa_service.is_enrolled(uow.session, identity.id):
        stage, next_step = SessionStage.AWAITING_OTP, NextStep.OTP
    elif kind is IdentityKind.STAFF or require_sca or recommendation is not Recommendation.APPROVE:
        # A risky sign-in without a TOTP yet goes through enrolment, as one that asked for SCA does.
        stage, next_step = SessionStage.AWAITING_ENROLMENT, NextStep.ENROL
    else:
        stage, next_step = SessionStage.AUTHENTICATED, NextStep.DONE
    authenticated = stage is SessionStage.AUTHENTICATED
    issued = await sessions_service.start_session(
        uow,
        identity_id=identity.id,
        stage=stage,
        amr=[AMR_PASSWORD] if authenticated else [],
        acr=ACR_CA if authenticated else None,
        return_to=return_to,
        now=now,
    )
    if assessed is not None and recommendation is not Recommendation.APPROVE:
        report_security_events(uow, _risk_event(identity, assessed, str(issued.record.id), ip_address))
    if authenticated:
        await identities_service.record_successful_sign_in(uow, identity.id, now=now)
        report_security_events(uow, _success_event(uow.keyring, identity, issued.record, ip_address, device))
        await devices_service.note_sign_in(uow, identity, device, str(issued.record.id), now)
    return PasswordStepOutcome(issued, next_step)


async def _second_factor_failed(
    uow: UnitOfWork,
    identity: IdentityRecord,
    pending: SessionRecord,
    factor: str,
    ip_address: str | None,
    now: datetime,
) -> SecondFactorOutcome:
    locked_until = await identities_service.record_failed_factor(uow, identity.id, now=now)
    if locked_until is not None:
        await sessions_service.end_session(uow, pending.id, reason="locked", now=now)
    refreshed = await identities_service.get_identity(uow.session, identity.id)
    events = _failure_events(identity.kind, refreshed, factor, "wrong_code", locked_until, ip_address, str(pending.id))
    report_security_events(uow, *events)
    return SecondFactorOutcome(None, session_ended=locked_until is not None)


async def _refuse_locked(
    uow: UnitOfWork,
    identity: IdentityRecord,
    pending: SessionRecord,
    factor: str,
    ip_address: str | None,
    now: datetime,
) -> SecondFactorOutcome:
    """The login was locked or disabled since the password step: the pending session ends unheard."""
    await sessions_service.end_session(uow, pending.id, reason="locked", now=now)
    events = _failure_events(identity.kind, identity, factor, "locked", None, ip_address, str(pending.id))
    report_security_events(uow, *events)
    return SecondFactorOutcome(None, session_ended=True)


async def _elevate(
    uow: UnitOfWork,
    identity: IdentityRecord,
    pending: SessionRecord,
    ip_address: str | None,
    now: datetime,
    device: Device | None,
) -> SecondFactorOutcome:
    """Both factors proven: the session becomes strongly authenticated under a new token."""
    issued = await sessions_service.elevate_session(uow, pending.id, amr=[AMR_PASSWORD, AMR_OTP], acr=ACR_SCA, now=now)
    await identities_service.record_successful_sign_in(uow, identity.id, now=now)
    report_security_events(uow, _success_event(uow.keyring, identity, issued.record, ip_address, device))
    await devices_service.note_sign_in(uow, identity, device, str(issued.record.id), now)
    return SecondFactorOutcome(issued)


async def complete_with_totp(
    uow: UnitOfWork,
    *,
    pending: SessionRecord,
    code: str,
    guard: ReplayGuard,
    ip_address: str | None,
    now: datetime | None = None,
    device: Device | None = None,
) -> SecondFactorOutcome:
    """Accept a fresh TOTP code for a session awaiting it; a wrong or replayed code counts towards lockout."""
    now = now or datetime.now(UTC)
    identity = await identities_service.get_identity(uow.session, pending.identity_id)
    if not await identities_service.is_sign_in_allowed(uow.session, identity.id, now=now):
        return await _refuse_locked(uow, identity, pending, "otp", ip_address, now)
    if not await mfa_service.verify_totp(uow, identity.id, code, guard, now=now):
        return await _second_factor_failed(uow, identity, pending, "otp", ip_address, now)
    actor = _actor(identity, str(pending.id))
    details = {"kind": identity.kind.value}
    report_security_events(
        uow, SecurityEvent("mfa.totp_used", actor, "identity", str(identity.id), details, ip_address)
    )
    return await _elevate(uow, identity, pending, ip_address, now, device)


async def complete_with_recovery_code(
    uow: UnitOfWork,
    *,
    pending: SessionRecord,
    code: str,
    ip_address: str | None,
    now: datetime | None = None,
    device: Device | None = None,
) -> SecondFactorOutcome:
    """Accept one unused recovery code instead of a TOTP code; it can never be used again."""
    now = now or datetime.now(UTC)
    identity = await identities_service.get_identity(uow.session, pending.identity_id)
    if not await identities_service.is_sign_in_allowed(uow.session, identity.id, now=now):
        return await _refuse_locked(uow, identity, pending, "recovery_code", ip_address, now)
    remaining = await mfa_service.use_recovery_code(uow, identity.id, code, now=now)
    if remaining is None:
        return await _second_factor_failed(uow, identity, pending, "recovery_code", ip_address, now)
    actor = _actor(identity, str(pending.id))
    details = {"kind": identity.kind.value, "recovery_codes_left": remaining}
    used = SecurityEvent("mfa.recovery_code_used", actor, "identity", str(identity.id), details, ip_address)
    report_security_events(uow, used)
    outcome = await _elevate(uow, identity, pending, ip_address, now, device)
    return SecondFactorOutcome(outcome.issued, recovery_codes_left=remaining)


async def complete_enrolment(
    uow: UnitOfWork,
    *,
    browser: SessionRecord,
    code: str,
    guard: ReplayGuard,
    ip_address: str | None,
    now: datetime | None = None,
    device: Device | None = None,
) -> EnrolmentOutcome:
    """Confirm TOTP enrolment with a first code: the session becomes strongly authenticated (new token).

    Raises EnrolmentCodeRejected for a wrong code; that does not count towards lockout, since the
    secret was created for this session moments ago and guessing it gains nothing.
    """
    now = now or datetime.now(UTC)
    identity = await identities_service.get_identity(uow.session, browser.identity_id)
    recovery_codes = await mfa_service.confirm_enrolment(uow, identity.id, code, guard, now=now)
    actor = _actor(identity, str(browser.id))
    details = {"kind": identity.kind.value, "method": "totp", "customer_id": _customer_id(identity)}
    report_security_events(uow, SecurityEvent("mfa.enrolled", actor, "identity", str(identity.id), details, ip_address))
    issued = await sessions_service.elevate_session(uow, browser.id, amr=[AMR_PASSWORD, AMR_OTP], acr=ACR_SCA, now=now)
    if not browser.is_authenticated:
        await identities_service.record_successful_sign_in(uow, identity.id, now=now)
        report_security_events(uow, _success_event(uow.keyring, identity, issued.record, ip_address, device))
        await devices_service.note_sign_in(uow, identity, device, str(issued.record.id), now)
    return EnrolmentOutcome(issued, recovery_codes)


async def sign_out(
    uow: UnitOfWork,
    *,
    browser: SessionRecord,
    revocations: RevocationList,
    ip_address: str | None,
    now: datetime | None = None,
) -> None:
    """End the browser's session (logout), and what the bank's own apps obtained through it."""
    now = now or datetime.now(UTC)
    identity = await identities_service.get_identity(uow.session, browser.identity_id)
    actor = _actor(identity, str(browser.id))
    await sessions_service.sign_out_session(
        uow, browser.id, revocations=revocations, reason="logout", now=now, actor=actor
    )
    details = {"kind": identity.kind.value, "session_id": str(browser.id)}
    report_security_events(uow, SecurityEvent("logout", actor, "identity", str(identity.id), details, ip_address))
