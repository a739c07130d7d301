"""Payees: a customer's saved beneficiaries, each added after a confirmation of payee, then paid by its id.

Adding one takes an unexpired confirmation of payee (`check_payee`) by the same customer, for the same
account and name; when that check was not a MATCH, the customer must say they go on despite its result.
A new payee is in a cooling-off period (`PayeeRules.cooling_off`) in which the payment saga holds large
payments to it for the customer's confirmation (`resolve_payee` tells it until when). A payee's name, its
nickname and the account are personal data: the names are sealed to their row, and none of them appears in
events or audit records (ids, flags and statuses only). Deleting a payee keeps its row (`deleted_at`), so
what named it keeps its history; it is not found afterwards.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.consents.schemas import CreditorAccount, CreditorScheme
from core_banking.customers import service as customers_service
from core_banking.errors import Forbidden
from core_banking.payees import confirmation, repository
from core_banking.payees.confirmation import PayeeNameDirectory
from core_banking.payees.errors import ConfirmationOfPayeeRequired, InvalidPayee, PayeeExists, PayeeNotFound
from core_banking.payees.models import CopResult, Payee, PayeeConfirmation
from core_banking.payees.schemas import (
    ConfirmationRecord,
    PayeeAccountIn,
    PayeeConfirmationCreate,
    PayeeCreate,
    PayeeRecord,
    PayeeUpdate,
    ResolvedPayee,
)
from core_banking.payments import creditors
from core_banking.payments.errors import InvalidPayment
from obank.crypto import KeyRing, seal, unseal
from obank.unit_of_work import UnitOfWork

TOPIC = "core_banking.payees"
ADDED = "payee.added"
UPDATED = "payee.updated"
DELETED = "payee.deleted"
CONFIRMATION_CHECKED = "payee.confirmation_checked"
# Purposes the sealed columns are bound to (with their row's id).
_NAME, _NICKNAME = "name", "nickname"
_CHECKED_NAME, _ACTUAL_NAME = "checked_name", "actual_name"


@dataclass(frozen=True, slots=True)
class PayeeRules:
    """How long a new payee cools off, and how long a confirmation of payee can be used to add one."""

    cooling_off: timedelta = timedelta(hours=24)
    confirmation_validity: timedelta = timedelta(minutes=15)


def payee_account(body: PayeeAccountIn) -> tuple[CreditorAccount, creditors.UkAccount]:
    """The payee as a creditor, and the UK account it comes to, checked as a payment checks its payee (UK
    modulus rules, GB IBANs only); InvalidPayee names the field at fault."""
    if body.iban is not None:
        if body.sort_code is not None or body.account_number is not None:
            raise InvalidPayee("give either an IBAN or a sort code and account number, not both", field="iban")
        creditor = CreditorAccount(body.name, CreditorScheme.IBAN, body.iban.replace(" ", "").upper())
        field = "iban"
    elif body.sort_code is None:
        raise InvalidPayee("give a sort code and account number, or an IBAN", field="sort_code")
    elif body.account_number is None:
        raise InvalidPayee("give the account number with the sort code", field="account_number")
    else:
        identification = body.sort_code.replace("-", "") + body.account_number
        creditor = CreditorAccount(body.name, CreditorScheme.SORT_CODE_ACCOUNT_NUMBER, identification)
        field = "account_number"
    try:
        account = creditors.uk_account(creditor)
    except InvalidPayment as error:
        reason = error.detail.removeprefix(f"{error.field}: ")
        raise InvalidPayee(reason, field="name" if error.field and error.field.endswith(".Name") else field) from None
    return creditor, account


async def _require_customer(session: AsyncSession, customer_id: uuid.UUID) -> None:
    if not await customers_service.customer_exists(session, customer_id):
        raise Forbidden("the principal names no customer")


def _confirmation_record(keyring: KeyRing, row: PayeeConfirmation) -> ConfirmationRecord:
    actual = row.actual_name_sealed
    return ConfirmationRecord(
        id=row.id,
        customer_id=row.customer_id,
        result=row.result,
        reason=row.reason,
        actual_name=None if actual is None else unseal(keyring, row.id, _ACTUAL_NAME, actual).decode(),
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


async def check_payee(
    uow: UnitOfWork,
    directory: PayeeNameDirectory,
    customer_id: uuid.UUID,
    body: PayeeConfirmationCreate,
    rules: PayeeRules,
    *,
    now: datetime | None = None,
) -> ConfirmationRecord:
    """Confirm the payee's name against the account's holder and keep the answer, for adding the payee soon."""
    now = now or datetime.now(UTC)
    creditor, account = payee_account(body)
    session, keyring = uow.session, uow.keyring
    await _require_customer(session, customer_id)
    answer = await confirmation.confirm_payee(session, keyring, directory, account, creditor.name)
    confirmation_id = uuid.uuid4()
    actual = answer.actual_name
    row = PayeeConfirmation(
        id=confirmation_id,
        customer_id=customer_id,
        sort_code=account.sort_code,
        account_number=account.account_number,
        name_sealed=seal(keyring, confirmation_id, _CHECKED_NAME, creditor.name.encode()),
        actual_name_sealed=None if actual is None else seal(keyring, confirmation_id, _ACTUAL_NAME, actual.encode()),
        result=answer.result,
        reason=answer.reason,
        created_at=now,
        expires_at=now + rules.confirmation_validity,
    )
    await repository.add_confirmation(session, row)
    uow.audit(
        action=CONFIRMATION_CHECKED,
        entity_type="payee_confirmation",
        entity_id=str(confirmation_id),
        after={
            "confirmation_id": str(confirmation_id),
            "customer_id": str(customer_id),
            "result": answer.result.value,
            "reason": answer.reason,
        },
    )
    return _confirmation_record(keyring, row)


def _record(keyring: KeyRing, payee: Payee) -> PayeeRecord:
    nickname = payee.nickname_sealed
    return PayeeRecord(
        id=payee.id,
        customer_id=payee.customer_id,
        name=unseal(keyring, payee.id, _NAME, payee.name_sealed).decode(),
        nickname=None if nickname is None else unseal(keyring, payee.id, _NICKNAME, nickname).decode(),
        scheme=CreditorScheme(payee.scheme),
        identification=payee.identification,
        sort_code=payee.sort_code,
        account_number=payee.account_number,
        reference=payee.reference,
        cop_result=payee.cop_result,
        cop_reason=payee.cop_reason,
        cooling_off_until=payee.cooling_off_until,
        created_at=payee.created_at,
        updated_at=payee.updated_at,
    )


def _snapshot(payee: Payee) -> dict[str, Any]:
    """Event payload and audit `after`: ids, flags and statuses; never the name, nickname, account or reference."""
    return {
        "payee_id": str(payee.id),
        "customer_id": str(payee.customer_id),
        "confirmation_id": str(payee.confirmation_id),
        "cop_result": payee.cop_result.value,
        "cop_reason": payee.cop_reason,
        "cooling_off_until": payee.cooling_off_until.isoformat(),
        "has_nickname": payee.nickname_sealed is not None,
        "has_reference": payee.reference is not None,
        "deleted": payee.deleted_at is not None,
        "created_at": payee.created_at.isoformat(),
    }


def _report(uow: UnitOfWork, payee: Payee, event: str, *, before: dict[str, Any] | None = None) -> None:
    payload = _snapshot(payee)
    uow.publish(topic=TOPIC, event_type=event, key=str(payee.id), payload=payload)
    uow.audit(action=event, entity_type="payee", entity_id=str(payee.id), before=before, after=payload)


async def _usable_confirmation(
    uow: UnitOfWork, customer_id: uuid.UUID, body: PayeeCreate, account: creditors.UkAccount, now: datetime
) -> ConfirmationRecord:
    """The customer's unexpired check of this very account and name; InvalidPayee on `confirmation_id` else."""
    row = await repository.get_confirmation(uow.session, body.confirmation_id)
    if row is None or row.customer_id != customer_id:
        raise InvalidPayee(f"no confirmation of payee {body.confirmation_id}", field="confirmation_id")
    if row.expires_at <= now:
        raise InvalidPayee("the confirmation of payee has expired: check the payee again", field="confirmation_id")
    checked_name = unseal(uow.keyring, row.id, _CHECKED_NAME, row.name_sealed).decode()
    if (row.sort_code, row.account_number) != (account.sort_code, account.account_number) or checked_name != body.name:
        raise InvalidPayee(
            "the confirmation of payee was for another account or name: check this payee", field="confirmation_id"
        )
    return _confirmation_record(uow.keyring, row)


async def add_payee(
    uow: UnitOfWork, customer_id: uuid.UUID, body: PayeeCreate, rules: PayeeRules, *, now: datetime | None = None
) -> PayeeRecord:
    """Save a payee the customer checked; its cooling-off runs from now.

    Raises InvalidPayee (naming the field; `confirmation_id` for a check missing, expired or of another payee),
    PayeeExists for an account the customer already has a payee for, and ConfirmationOfPayeeRequired when the
    check was not a MATCH and `confirmed_despite` does not repeat its result. Nothing is written then.
    """
    now = now or datetime.now(UTC)
    creditor, account = payee_account(body)
    session, keyring = uow.session, uow.keyring
    checked = await _usable_confirmation(uow, customer_id, body, account, now)
    if checked.result is CopResult.MATCH:
        if body.confirmed_despite is not None:
            raise InvalidPayee("the name matched: there is no warning to go on despite", field="confirmed_despite")
    elif body.confirmed_despite is not checked.result:
        raise ConfirmationOfPayeeRequired(checked.result, checked.reason, checked.actual_name)
    existing = await repository.find_active_for_account(session, customer_id, account.sort_code, account.account_number)
    if existing is not None:
        raise PayeeExists(f"payee {existing.id} already pays this account")
    payee_id = uuid.uuid4()
    payee = Payee(
        id=payee_id,
        customer_id=customer_id,
        name_sealed=seal(keyring, payee_id, _NAME, creditor.name.encode()),
        nickname_sealed=None if body.nickname is None else seal(keyring, payee_id, _NICKNAME, body.nickname.encode()),
        scheme=creditor.scheme.value,
        identification=creditor.identification,
        sort_code=account.sort_code,
        account_number=account.account_number,
        reference=body.reference,
        confirmation_id=checked.id,
        cop_result=checked.result,
        cop_reason=checked.reason,
        cooling_off_until=now + rules.cooling_off,
        created_at=now,
        updated_at=now,
    )
    if not await repository.add(session, payee):
        raise PayeeExists("a payee already pays this account")
    _report(uow, payee, ADDED)
    return _record(keyring, payee)


async def update_payee(
    uow: UnitOfWork, customer_id: uuid.UUID, payee_id: uuid.UUID, body: PayeeUpdate, *, now: datetime | None = None
) -> PayeeRecord:
    """Change a payee's nickname or default reference (those given; null clears one)."""
    payee = await repository.get_active(uow.session, payee_id, customer_id, for_update=True)
    if payee is None:
        raise PayeeNotFound(payee_id)
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        return _record(uow.keyring, payee)
    before = _snapshot(payee)
    if "nickname" in changes:
        nickname = changes["nickname"]
        payee.nickname_sealed = None if nickname is None else seal(uow.keyring, payee.id, _NICKNAME, nickname.encode())
    if "reference" in changes:
        payee.reference = changes["reference"]
    payee.updated_at = now or datetime.now(UTC)
    await uow.session.flush()
    _report(uow, payee, UPDATED, before=before)
    return _record(uow.keyring, payee)


async def delete_payee(
    uow: UnitOfWork, customer_id: uuid.UUID, payee_id: uuid.UUID, *, now: datetime | None = None
) -> None:
    """Delete a payee: it is not found from now on; its row stays for what named it."""
    payee = await repository.get_active(uow.session, payee_id, customer_id, for_update=True)
    if payee is None:
        raise PayeeNotFound(payee_id)
    moment = now or datetime.now(UTC)
    payee.deleted_at = moment
    payee.updated_at = moment
    await uow.session.flush()
    _report(uow, payee, DELETED)


async def get_payee(
    session: AsyncSession, keyring: KeyRing, payee_id: uuid.UUID, *, customer_id: uuid.UUID
) -> PayeeRecord:
    """One of the customer's payees; another customer's, or a deleted one, is not found."""
    payee = await repository.get_active(session, payee_id, customer_id)
    if payee is None:
        raise PayeeNotFound(payee_id)
    return _record(keyring, payee)


async def list_payees(session: AsyncSession, keyring: KeyRing, customer_id: uuid.UUID) -> list[PayeeRecord]:
    """The customer's payees, oldest first."""
    return [_record(keyring, payee) for payee in await repository.list_active(session, customer_id)]


async def resolve_payee(
    session: AsyncSession, keyring: KeyRing, customer_id: uuid.UUID, payee_id: uuid.UUID
) -> ResolvedPayee:
    """The payee a customer's payment names, as the payment needs it; PayeeNotFound for one missing, deleted or
    another customer's."""
    payee = await get_payee(session, keyring, payee_id, customer_id=customer_id)
    return ResolvedPayee(payee.id, payee.creditor, payee.reference, payee.cooling_off_until)
