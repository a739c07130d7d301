"""`CoreBanking` over internal HTTP: what a process without core banking in it calls (`facade.connect`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from core_banking.account_information.schemas import (
    AccountBalances,
    BeneficiaryRecord,
    PartyRecord,
    StatementRecord,
)
from core_banking.accounts.errors import AccountClosed, AccountFrozen, AccountNotFound
from core_banking.accounts.schemas import AccountRecord
from core_banking.consents.errors import (
    AccountNotInConsent,
    ConsentExpired,
    ConsentNotAuthorised,
    ConsentNotAwaitingAuthorisation,
    ConsentNotFound,
    ConsentNotRevocable,
    InvalidConsent,
    InvalidConsentAccounts,
    PermissionNotGranted,
)
from core_banking.consents.models import ConsentKind
from core_banking.consents.schemas import (
    AccountAccessDetails,
    ConsentRecord,
    DomesticPaymentDetails,
    FundsAvailability,
    FundsConfirmationDetails,
    PaymentOrderDetails,
    PsuContext,
)
from core_banking.customers.errors import CustomerNotFound
from core_banking.customers.schemas import CustomerContact
from core_banking.errors import DomainError
from core_banking.funds_confirmations.errors import InvalidFundsConfirmation
from core_banking.funds_confirmations.schemas import FundsConfirmationRecord
from core_banking.history.errors import InvalidCursor, InvalidFilter
from core_banking.history.schemas import TransactionPage
from core_banking.idempotency.errors import IdempotencyKeyReused
from core_banking.internal import PREFIX
from core_banking.ledger.errors import InsufficientFunds, LimitExceeded, SameAccount
from core_banking.payment_orders.errors import InvalidPaymentOrder, PaymentOrderEnded, PaymentOrderNotFound
from core_banking.payment_orders.models import OrderKind
from core_banking.payment_orders.schemas import OrderRecord, OrderRequest
from core_banking.payments.errors import InvalidPayment, PaymentNotFound
from core_banking.payments.schemas import PaymentInitiation, PaymentRecord
from core_banking.statements.errors import StatementNotFound
from obank.correlation import HEADER as CORRELATION_HEADER
from obank.correlation import current_correlation_id
from obank.money import Money
from obank.principal import PRINCIPAL_HEADER, InternalAssertions, Principal, load_internal_assertions
from obank.settings import Settings

SERVICE_AUDIENCE = "core_banking"
MAX_CONSENT_ID = 128
MAX_STATEMENT_ID = 40  # OB StatementId
_CONSENT = TypeAdapter(ConsentRecord)
_ACCOUNTS = TypeAdapter(list[AccountRecord])
_ACCOUNT = TypeAdapter(AccountRecord)
_CONTACT = TypeAdapter(CustomerContact)
_BALANCES = TypeAdapter(list[AccountBalances])
_PAGE = TypeAdapter(TransactionPage)
_PARTY = TypeAdapter(PartyRecord)
_STATEMENT = TypeAdapter(StatementRecord)
_STATEMENTS = TypeAdapter(list[StatementRecord])
_FUNDS_CONFIRMATION = TypeAdapter(FundsConfirmationRecord)
_ACCESS_DETAILS = TypeAdapter(AccountAccessDetails)
_FUNDS_DETAILS = TypeAdapter(FundsConfirmationDetails)
_PAYMENT_DETAILS = TypeAdapter(DomesticPaymentDetails)
_FUNDS_AVAILABILITY = TypeAdapter(FundsAvailability)
_MONEY = TypeAdapter(Money)
_PSU = TypeAdapter(PsuContext | None)
_INITIATION = TypeAdapter(PaymentInitiation)
_PAYMENT = TypeAdapter(PaymentRecord)
_ORDER_DETAILS = TypeAdapter(PaymentOrderDetails)
_ORDER_REQUEST = TypeAdapter(OrderRequest)
_ORDER = TypeAdapter(OrderRecord)
_ORDERS = TypeAdapter(list[OrderRecord])
_BENEFICIARIES = TypeAdapter(list[BeneficiaryRecord])
# The facade's errors travel as problem details; their stable `code` names the error to raise again here.
_ERRORS: dict[str, type[DomainError]] = {
    error.code: error
    for error in (
        AccountNotFound,
        AccountNotInConsent,
        ConsentExpired,
        ConsentNotAuthorised,
        ConsentNotAwaitingAuthorisation,
        ConsentNotFound,
        ConsentNotRevocable,
        CustomerNotFound,
        IdempotencyKeyReused,
        InvalidConsent,
        InvalidConsentAccounts,
        InvalidCursor,
        InvalidFilter,
        InvalidFundsConfirmation,
        InvalidPayment,
        InvalidPaymentOrder,
        PaymentNotFound,
        PaymentOrderEnded,
        PaymentOrderNotFound,
        InsufficientFunds,
        LimitExceeded,
        AccountFrozen,
        AccountClosed,
        SameAccount,
        PermissionNotGranted,
        StatementNotFound,
    )
}


class CoreBankingUnavailable(Exception):
    """Core banking did not answer, or answered what the facade does not define."""


def _revived(error: type[DomainError], detail: str) -> DomainError:
    """The error as core banking raised it: with what its detail carries (a status, a field) when it says so."""
    revive = getattr(error, "revive", None)
    if revive is not None:
        revived: DomainError = revive(detail)
        return revived
    raised = error.__new__(error)
    DomainError.__init__(raised, detail)
    return raised


def _query(**values: object) -> dict[str, str]:
    """Query parameters of the given values, left out when None."""
    return {
        name: value.isoformat() if isinstance(value, datetime) else str(value)
        for name, value in values.items()
        if value is not None
    }


class HttpCoreBanking:
    """Each call: a signed `service` assertion, the caller's interaction id, the facade's typed result."""

    def __init__(self, http: httpx.AsyncClient, assertions: InternalAssertions, service: str) -> None:
        self._http = http
        self._assertions = assertions
        self._service = service

    @classmethod
    def from_settings(cls, settings: Settings, service: str = "auth_server") -> HttpCoreBanking:
        assert settings.upstream_core_banking_url is not None
        http = httpx.AsyncClient(base_url=settings.upstream_core_banking_url, timeout=settings.upstream_timeout_s)
        return cls(http, load_internal_assertions(settings), service)

    async def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        interaction_id = current_correlation_id()
        principal = Principal(subject=self._service, kind="service", interaction_id=interaction_id)
        headers = {
            PRINCIPAL_HEADER: self._assertions.sign(principal, SERVICE_AUDIENCE),
            CORRELATION_HEADER: interaction_id,
        }
        try:
            response = await self._http.request(method, PREFIX + path, json=body, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise CoreBankingUnavailable(f"core banking unreachable: {type(exc).__name__}") from exc
        if response.is_success:
            return response
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        error = _ERRORS.get(str(problem.get("code")))
        if error is None:
            raise CoreBankingUnavailable(f"core banking answered {response.status_code}")
        raise _revived(error, str(problem.get("detail") or error.title))

    async def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        return (await self._request(method, path, body, params)).json()

    async def customer_exists(self, customer_id: uuid.UUID) -> bool:
        return bool((await self._call("GET", f"/customers/{customer_id}"))["exists"])

    async def list_customer_accounts(self, customer_id: uuid.UUID) -> list[AccountRecord]:
        return _ACCOUNTS.validate_python(await self._call("GET", f"/customers/{customer_id}/accounts"))

    async def get_account(self, account_id: uuid.UUID) -> AccountRecord:
        return _ACCOUNT.validate_python(await self._call("GET", f"/accounts/{account_id}"))

    async def customer_contact(self, customer_id: uuid.UUID) -> CustomerContact:
        return _CONTACT.validate_python(await self._call("GET", f"/customers/{customer_id}/contact"))

    async def create_account_access_consent(
        self,
        client_id: str,
        details: AccountAccessDetails,
        *,
        idempotency_key: str | None = None,
        psu: PsuContext | None = None,
    ) -> ConsentRecord:
        body = {
            "client_id": client_id,
            "details": _ACCESS_DETAILS.dump_python(details, mode="json"),
            "idempotency_key": idempotency_key,
            "psu": _PSU.dump_python(psu, mode="json"),
        }
        return _CONSENT.validate_python(await self._call("POST", "/account-access-consents", body))

    async def create_funds_confirmation_consent(
        self,
        client_id: str,
        details: FundsConfirmationDetails,
        *,
        idempotency_key: str | None = None,
        psu: PsuContext | None = None,
    ) -> ConsentRecord:
        body = {
            "client_id": client_id,
            "details": _FUNDS_DETAILS.dump_python(details, mode="json"),
            "idempotency_key": idempotency_key,
            "psu": _PSU.dump_python(psu, mode="json"),
        }
        return _CONSENT.validate_python(await self._call("POST", "/funds-confirmation-consents", body))

    async def create_domestic_payment_consent(
        self,
        client_id: str,
        details: DomesticPaymentDetails,
        *,
        idempotency_key: str | None = None,
        psu: PsuContext | None = None,
    ) -> ConsentRecord:
        body = {
            "client_id": client_id,
            "details": _PAYMENT_DETAILS.dump_python(details, mode="json"),
            "idempotency_key": idempotency_key,
            "psu": _PSU.dump_python(psu, mode="json"),
        }
        return _CONSENT.validate_python(await self._call("POST", "/domestic-payment-consents", body))

    async def create_payment_order_consent(
        self,
        client_id: str,
        kind: ConsentKind,
        details: PaymentOrderDetails,
        *,
        idempotency_key: str | None = None,
        psu: PsuContext | None = None,
    ) -> ConsentRecord:
        body = {
            "client_id": client_id,
            "kind": kind.value,
            "details": _ORDER_DETAILS.dump_python(details, mode="json"),
            "idempotency_key": idempotency_key,
            "psu": _PSU.dump_python(psu, mode="json"),
        }
        return _CONSENT.validate_python(await self._call("POST", "/payment-order-consents", body))

    async def create_payment_order(
        self, request: OrderRequest, *, idempotency_key: str, psu: PsuContext | None = None
    ) -> OrderRecord:
        body = {
            "request": _ORDER_REQUEST.dump_python(request, mode="json"),
            "idempotency_key": idempotency_key,
            "psu": _PSU.dump_python(psu, mode="json"),
        }
        return _ORDER.validate_python(await self._call("POST", "/payment-orders", body))

    async def get_payment_order(self, order_id: uuid.UUID, *, client_id: str | None = None) -> OrderRecord:
        params = _query(client_id=client_id)
        return _ORDER.validate_python(await self._call("GET", f"/payment-orders/{order_id}", params=params))

    async def consent_payment_orders(
        self, consent_id: str, client_id: str, account_id: uuid.UUID | None, kind: OrderKind
    ) -> list[OrderRecord]:
        params = _query(client_id=client_id, account_id=account_id, kind=kind.value)
        return _ORDERS.validate_python(await self._call("GET", _consent(consent_id) + "/payment-orders", params=params))

    async def consent_beneficiaries(
        self, consent_id: str, client_id: str, account_id: uuid.UUID | None = None
    ) -> list[BeneficiaryRecord]:
        params = _query(client_id=client_id, account_id=account_id)
        path = _consent(consent_id) + "/beneficiaries"
        return _BENEFICIARIES.validate_python(await self._call("GET", path, params=params))

    async def payment_funds_available(self, consent_id: str, *, client_id: str) -> FundsAvailability:
        path = _consent(consent_id) + "/payment-funds"
        return _FUNDS_AVAILABILITY.validate_python(await self._call("GET", path, params=_query(client_id=client_id)))

    async def get_consent(self, consent_id: str) -> ConsentRecord:
        return _CONSENT.validate_python(await self._call("GET", _consent(consent_id)))

    async def authorise_consent(
        self,
        consent_id: str,
        *,
        customer_id: uuid.UUID,
        account_ids: Sequence[uuid.UUID],
        session_id: str | None = None,
    ) -> ConsentRecord:
        body = {"customer_id": str(customer_id), "account_ids": [str(a) for a in account_ids], "session_id": session_id}
        answer = await self._call("POST", _consent(consent_id) + "/authorisation", body)
        return _CONSENT.validate_python(answer)

    async def reject_consent(
        self, consent_id: str, *, customer_id: uuid.UUID | None = None, session_id: str | None = None
    ) -> ConsentRecord:
        body = {"customer_id": None if customer_id is None else str(customer_id), "session_id": session_id}
        return _CONSENT.validate_python(await self._call("POST", _consent(consent_id) + "/rejection", body))

    async def revoke_consent(
        self, consent_id: str, *, customer_id: uuid.UUID, session_id: str | None = None
    ) -> ConsentRecord:
        body = {"customer_id": str(customer_id), "session_id": session_id}
        return _CONSENT.validate_python(await self._call("POST", _consent(consent_id) + "/revocation", body))

    async def withdraw_consent(
        self, consent_id: str, *, client_id: str, psu: PsuContext | None = None
    ) -> ConsentRecord:
        body = {"client_id": client_id, "psu": _PSU.dump_python(psu, mode="json")}
        return _CONSENT.validate_python(await self._call("POST", _consent(consent_id) + "/withdrawal", body))

    async def initiate_payment(
        self, initiation: PaymentInitiation, *, idempotency_key: str, psu: PsuContext | None = None
    ) -> PaymentRecord:
        body = {
            "initiation": _INITIATION.dump_python(initiation, mode="json"),
            "idempotency_key": idempotency_key,
            "psu": _PSU.dump_python(psu, mode="json"),
        }
        return _PAYMENT.validate_python(await self._call("POST", "/payments", body))

    async def get_payment(self, payment_id: uuid.UUID, *, client_id: str | None = None) -> PaymentRecord:
        params = _query(client_id=client_id)
        return _PAYMENT.validate_python(await self._call("GET", f"/payments/{payment_id}", params=params))

    async def release_reviewed_payment(self, payment_id: uuid.UUID, *, staff_id: str) -> PaymentRecord:
        body = {"staff_id": staff_id}
        return _PAYMENT.validate_python(await self._call("POST", f"/payments/{payment_id}/review-release", body))

    async def reject_reviewed_payment(self, payment_id: uuid.UUID, *, staff_id: str) -> PaymentRecord:
        body = {"staff_id": staff_id}
        return _PAYMENT.validate_python(await self._call("POST", f"/payments/{payment_id}/review-rejection", body))

    async def confirm_funds(
        self, consent_id: str, *, client_id: str, amount: Money, reference: str, psu: PsuContext | None = None
    ) -> FundsConfirmationRecord:
        body = {
            "client_id": client_id,
            "amount": _MONEY.dump_python(amount, mode="json"),
            "reference": reference,
            "psu": _PSU.dump_python(psu, mode="json"),
        }
        answer = await self._call("POST", _consent(consent_id) + "/funds-confirmations", body)
        return _FUNDS_CONFIRMATION.validate_python(answer)

    async def consent_accounts(
        self, consent_id: str, client_id: str, account_id: uuid.UUID | None = None
    ) -> list[AccountRecord]:
        params = _query(client_id=client_id, account_id=account_id)
        return _ACCOUNTS.validate_python(await self._call("GET", _consent(consent_id) + "/accounts", params=params))

    async def consent_account_balances(
        self, consent_id: str, client_id: str, account_id: uuid.UUID | None = None
    ) -> list[AccountBalances]:
        params = _query(client_id=client_id, account_id=account_id)
        return _BALANCES.validate_python(await self._call("GET", _consent(consent_id) + "/balances", params=params))

    async def consent_account_transactions(
        self,
        consent_id: str,
        client_id: str,
        account_id: uuid.UUID | None = None,
        *,
        booked_from: datetime | None = None,
        booked_to: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> TransactionPage:
        params = _query(
            client_id=client_id,
            account_id=account_id,
            booked_from=booked_from,
            booked_to=booked_to,
            cursor=cursor,
            limit=limit,
        )
        return _PAGE.validate_python(await self._call("GET", _consent(consent_id) + "/transactions", params=params))

    async def consent_party(self, consent_id: str, client_id: str, account_id: uuid.UUID | None = None) -> PartyRecord:
        params = _query(client_id=client_id, account_id=account_id)
        return _PARTY.validate_python(await self._call("GET", _consent(consent_id) + "/party", params=params))

    async def consent_statements(
        self,
        consent_id: str,
        client_id: str,
        account_id: uuid.UUID,
        *,
        statements_from: datetime | None = None,
        statements_to: datetime | None = None,
    ) -> list[StatementRecord]:
        params = _query(client_id=client_id, statements_from=statements_from, statements_to=statements_to)
        path = f"{_consent(consent_id)}/accounts/{account_id}/statements"
        return _STATEMENTS.validate_python(await self._call("GET", path, params=params))

    async def consent_statement(
        self, consent_id: str, client_id: str, account_id: uuid.UUID, statement_id: str
    ) -> StatementRecord:
        path = _statement(consent_id, account_id, statement_id)
        return _STATEMENT.validate_python(await self._call("GET", path, params=_query(client_id=client_id)))

    async def consent_statement_file(
        self, consent_id: str, client_id: str, account_id: uuid.UUID, statement_id: str
    ) -> bytes:
        path = _statement(consent_id, account_id, statement_id) + "/file"
        return (await self._request("GET", path, params=_query(client_id=client_id))).content

    async def close(self) -> None:
        await self._http.aclose()


def _consent(consent_id: str) -> str:
    """The consent's path: an id that could not be one (empty, too long, or holding `/`) is unknown, never
    another path."""
    if not consent_id or len(consent_id) > MAX_CONSENT_ID or "/" in consent_id or consent_id in (".", ".."):
        raise ConsentNotFound(consent_id)
    return "/consents/" + quote(consent_id, safe="")


def _statement(consent_id: str, account_id: uuid.UUID, statement_id: str) -> str:
    """A statement's path; an id that could not be one (empty, too long, or holding `/`) names no statement."""
    if not statement_id or len(statement_id) > MAX_STATEMENT_ID or "/" in statement_id or statement_id in (".", ".."):
        raise StatementNotFound(statement_id)
    return f"{_consent(consent_id)}/accounts/{account_id}/statements/{quote(statement_id, safe='')}"
