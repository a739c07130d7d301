"""The facade's routes for other contexts in other processes (`/internal/v1`); the gateway never routes here.

Each call carries an internal assertion of a `service` principal, signed with the deployment's internal key,
and runs `InProcessCoreBanking` in this process: the same code as an in-process call.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from core_banking.account_information.schemas import (
    AccountBalances,
    BeneficiaryRecord,
    PartyRecord,
    StatementRecord,
)
from core_banking.accounts.schemas import AccountRecord
from core_banking.consents.models import ConsentKind
from core_banking.consents.schemas import (
    ConsentRecord,
    DomesticPaymentDetails,
    FundsAvailability,
    PaymentOrderDetails,
    PsuContext,
)
from core_banking.customers.schemas import CustomerContact
from core_banking.errors import PROBLEM_RESPONSES, Forbidden
from core_banking.facade import InProcessCoreBanking
from core_banking.funds_confirmations.schemas import FundsConfirmationRecord
from core_banking.history.schemas import TransactionPage
from core_banking.internal import PREFIX, schemas
from core_banking.internal.schemas import AuthoriseConsent, CustomerExists, RejectConsent, RevokeConsent
from core_banking.payment_orders.models import OrderKind
from core_banking.payment_orders.schemas import OrderRecord, OrderRequest
from core_banking.payments.schemas import PaymentInitiation, PaymentRecord
from obank.principal import PrincipalDep
from obank.runtime import Platform


async def _facade(request: Request, principal: PrincipalDep) -> InProcessCoreBanking:
    if principal.kind != "service":
        raise Forbidden("the internal facade serves the platform's own services only")
    platform: Platform = request.app.state.platform
    return InProcessCoreBanking(platform.sessions, platform.keyring, platform.revocations)


Facade = Annotated[InProcessCoreBanking, Depends(_facade)]
ConsentId = Annotated[str, Path(min_length=1, max_length=128)]
# Loose bounds: the services refuse what is not a consent, a client's or a statement, as in process.
ClientId = Annotated[str, Query(max_length=1_000)]
StatementId = Annotated[str, Path(max_length=1_000)]
router = APIRouter(prefix=PREFIX, tags=["internal facade"], responses=PROBLEM_RESPONSES)


# A TPP's changes carry what the TPP tells of its PSU (`PsuContext`), for the change's audit record.
class CreateAccountAccessConsent(schemas.CreateAccountAccessConsent):
    psu: PsuContext | None = None


class CreateFundsConfirmationConsent(schemas.CreateFundsConfirmationConsent):
    psu: PsuContext | None = None


class WithdrawConsent(schemas.WithdrawConsent):
    psu: PsuContext | None = None


class ConfirmFunds(schemas.ConfirmFunds):
    psu: PsuContext | None = None


class CreateDomesticPaymentConsent(BaseModel):
    client_id: str = Field(max_length=1_000)
    details: DomesticPaymentDetails
    idempotency_key: str | None = Field(default=None, max_length=1_000)
    psu: PsuContext | None = None


class CreatePaymentOrderConsent(BaseModel):
    client_id: str = Field(max_length=1_000)
    kind: ConsentKind
    details: PaymentOrderDetails
    idempotency_key: str | None = Field(default=None, max_length=1_000)
    psu: PsuContext | None = None


class CreatePaymentOrder(BaseModel):
    request: OrderRequest
    idempotency_key: str = Field(min_length=1, max_length=255)
    psu: PsuContext | None = None


@router.get("/customers/{customer_id}")
async def customer_exists(customer_id: uuid.UUID, facade: Facade) -> CustomerExists:
    """Whether the customer exists (no personal data)."""
    return CustomerExists(exists=await facade.customer_exists(customer_id))


@router.get("/customers/{customer_id}/accounts")
async def list_customer_accounts(customer_id: uuid.UUID, facade: Facade) -> list[AccountRecord]:
    """Every account of the customer, oldest first."""
    return await facade.list_customer_accounts(customer_id)


@router.get("/customers/{customer_id}/contact")
async def customer_contact(customer_id: uuid.UUID, facade: Facade) -> CustomerContact:
    """The customer's name, email address and phone number, for notifications."""
    return await facade.customer_contact(customer_id)


@router.get("/accounts/{account_id}")
async def get_account(account_id: uuid.UUID, facade: Facade) -> AccountRecord:
    """One account with its balance and holder."""
    return await facade.get_account(account_id)


@router.post("/account-access-consents", status_code=201)
async def create_account_access_consent(body: CreateAccountAccessConsent, facade: Facade) -> ConsentRecord:
    """An account access consent a TPP asks for (once per idempotency key)."""
    return await facade.create_account_access_consent(
        body.client_id, body.details, idempotency_key=body.idempotency_key, psu=body.psu
    )


@router.post("/funds-confirmation-consents", status_code=201)
async def create_funds_confirmation_consent(body: CreateFundsConfirmationConsent, facade: Facade) -> ConsentRecord:
    """A funds confirmation consent a TPP asks for (once per idempotency key)."""
    return await facade.create_funds_confirmation_consent(
        body.client_id, body.details, idempotency_key=body.idempotency_key, psu=body.psu
    )


@router.post("/domestic-payment-consents", status_code=201)
async def create_domestic_payment_consent(body: CreateDomesticPaymentConsent, facade: Facade) -> ConsentRecord:
    """A domestic payment consent a TPP asks for (once per idempotency key)."""
    return await facade.create_domestic_payment_consent(
        body.client_id, body.details, idempotency_key=body.idempotency_key, psu=body.psu
    )


@router.post("/payment-order-consents", status_code=201)
async def create_payment_order_consent(body: CreatePaymentOrderConsent, facade: Facade) -> ConsentRecord:
    """A scheduled payment or standing order consent a TPP asks for (once per idempotency key)."""
    return await facade.create_payment_order_consent(
        body.client_id, body.kind, body.details, idempotency_key=body.idempotency_key, psu=body.psu
    )


@router.get("/consents/{consent_id}/payment-funds")
async def payment_funds_available(consent_id: ConsentId, client_id: ClientId, facade: Facade) -> FundsAvailability:
    """Whether the payment consent's debtor account has its amount available now."""
    return await facade.payment_funds_available(consent_id, client_id=client_id)


@router.get("/consents/{consent_id}")
async def get_consent(consent_id: ConsentId, facade: Facade) -> ConsentRecord:
    """A consent as the authorization server shows it."""
    return await facade.get_consent(consent_id)


@router.post("/consents/{consent_id}/authorisation")
async def authorise_consent(consent_id: ConsentId, body: AuthoriseConsent, facade: Facade) -> ConsentRecord:
    """The customer authorised the consent over the chosen accounts (idempotent)."""
    return await facade.authorise_consent(
        consent_id, customer_id=body.customer_id, account_ids=body.account_ids, session_id=body.session_id
    )


@router.post("/consents/{consent_id}/rejection")
async def reject_consent(consent_id: ConsentId, body: RejectConsent, facade: Facade) -> ConsentRecord:
    """The customer refused the consent (idempotent)."""
    return await facade.reject_consent(consent_id, customer_id=body.customer_id, session_id=body.session_id)


@router.post("/consents/{consent_id}/revocation")
async def revoke_consent(consent_id: ConsentId, body: RevokeConsent, facade: Facade) -> ConsentRecord:
    """The customer withdrew an authorised long-lived consent (idempotent)."""
    return await facade.revoke_consent(consent_id, customer_id=body.customer_id, session_id=body.session_id)


@router.post("/consents/{consent_id}/withdrawal")
async def withdraw_consent(consent_id: ConsentId, body: WithdrawConsent, facade: Facade) -> ConsentRecord:
    """The TPP deleted its consent (idempotent)."""
    return await facade.withdraw_consent(consent_id, client_id=body.client_id, psu=body.psu)


@router.post("/consents/{consent_id}/funds-confirmations", status_code=201)
async def confirm_funds(consent_id: ConsentId, body: ConfirmFunds, facade: Facade) -> FundsConfirmationRecord:
    """Whether the consent's account has the amount available now (stored and audited)."""
    return await facade.confirm_funds(
        consent_id, client_id=body.client_id, amount=body.amount, reference=body.reference, psu=body.psu
    )


@router.get("/consents/{consent_id}/accounts")
async def consent_accounts(
    consent_id: ConsentId, client_id: ClientId, facade: Facade, account_id: uuid.UUID | None = None
) -> list[AccountRecord]:
    """The consent's accounts, or the one asked for."""
    return await facade.consent_accounts(consent_id, client_id, account_id)


@router.get("/consents/{consent_id}/balances")
async def consent_account_balances(
    consent_id: ConsentId, client_id: ClientId, facade: Facade, account_id: uuid.UUID | None = None
) -> list[AccountBalances]:
    """Balances of the consent's accounts, or of the one asked for."""
    return await facade.consent_account_balances(consent_id, client_id, account_id)


@router.get("/consents/{consent_id}/transactions")
async def consent_account_transactions(
    consent_id: ConsentId,
    client_id: ClientId,
    facade: Facade,
    account_id: uuid.UUID | None = None,
    booked_from: datetime | None = None,
    booked_to: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    limit: int = 50,
) -> TransactionPage:
    """A page of the consent's transactions (one account, or all)."""
    return await facade.consent_account_transactions(
        consent_id,
        client_id,
        account_id,
        booked_from=booked_from,
        booked_to=booked_to,
        cursor=cursor,
        limit=limit,
    )


@router.get("/consents/{consent_id}/party")
async def consent_party(
    consent_id: ConsentId, client_id: ClientId, facade: Facade, account_id: uuid.UUID | None = None
) -> PartyRecord:
    """The consent's PSU, or an account's holder."""
    return await facade.consent_party(consent_id, client_id, account_id)


@router.get("/consents/{consent_id}/accounts/{account_id}/statements")
async def consent_statements(
    consent_id: ConsentId,
    account_id: uuid.UUID,
    client_id: ClientId,
    facade: Facade,
    statements_from: datetime | None = None,
    statements_to: datetime | None = None,
) -> list[StatementRecord]:
    """The account's statements within the consent's window."""
    return await facade.consent_statements(
        consent_id, client_id, account_id, statements_from=statements_from, statements_to=statements_to
    )


@router.get("/consents/{consent_id}/accounts/{account_id}/statements/{statement_id}")
async def consent_statement(
    consent_id: ConsentId, account_id: uuid.UUID, statement_id: StatementId, client_id: ClientId, facade: Facade
) -> StatementRecord:
    """One statement of the account."""
    return await facade.consent_statement(consent_id, client_id, account_id, statement_id)


@router.get(
    "/consents/{consent_id}/accounts/{account_id}/statements/{statement_id}/file",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The statement as a PDF"}},
)
async def consent_statement_file(
    consent_id: ConsentId, account_id: uuid.UUID, statement_id: StatementId, client_id: ClientId, facade: Facade
) -> Response:
    """One statement of the account as a PDF."""
    pdf = await facade.consent_statement_file(consent_id, client_id, account_id, statement_id)
    return Response(pdf, media_type="application/pdf")


class InitiatePayment(BaseModel):
    initiation: PaymentInitiation
    idempotency_key: str = Field(min_length=1, max_length=255)
    psu: PsuContext | None = None


@router.post("/payments", status_code=201)
async def initiate_payment(body: InitiatePayment, facade: Facade) -> PaymentRecord:
    """Accept a payment (idempotent per key), consuming its consent."""
    return await facade.initiate_payment(body.initiation, idempotency_key=body.idempotency_key, psu=body.psu)


@router.get("/payments/{payment_id}")
async def get_payment(payment_id: uuid.UUID, facade: Facade, client_id: ClientId | None = None) -> PaymentRecord:
    """A payment with its status history."""
    return await facade.get_payment(payment_id, client_id=client_id)


class ReviewDecision(BaseModel):
    staff_id: str = Field(min_length=1, max_length=128)


@router.post("/payments/{payment_id}/review-release")
async def release_reviewed_payment(payment_id: uuid.UUID, body: ReviewDecision, facade: Facade) -> PaymentRecord:
    """A fraud analyst released a payment held for review (idempotent)."""
    return await facade.release_reviewed_payment(payment_id, staff_id=body.staff_id)


@router.post("/payments/{payment_id}/review-rejection")
async def reject_reviewed_payment(payment_id: uuid.UUID, body: ReviewDecision, facade: Facade) -> PaymentRecord:
    """A fraud analyst rejected a payment held for review (idempotent)."""
    return await facade.reject_reviewed_payment(payment_id, staff_id=body.staff_id)


@router.post("/payment-orders", status_code=201)
async def create_payment_order(body: CreatePaymentOrder, facade: Facade) -> OrderRecord:
    """Set up a payment order (idempotent per key), consuming its consent."""
    return await facade.create_payment_order(body.request, idempotency_key=body.idempotency_key, psu=body.psu)


@router.get("/payment-orders/{order_id}")
async def get_payment_order(order_id: uuid.UUID, facade: Facade, client_id: ClientId | None = None) -> OrderRecord:
    """A payment order with each occurrence it ran."""
    return await facade.get_payment_order(order_id, client_id=client_id)


@router.get("/consents/{consent_id}/beneficiaries")
async def consent_beneficiaries(
    consent_id: ConsentId, client_id: ClientId, facade: Facade, account_id: uuid.UUID | None = None
) -> list[BeneficiaryRecord]:
    """The customer's payees under each of the consent's accounts, or the one asked for."""
    return await facade.consent_beneficiaries(consent_id, client_id, account_id)


@router.get("/consents/{consent_id}/payment-orders")
async def consent_payment_orders(
    consent_id: ConsentId, client_id: ClientId, kind: OrderKind, facade: Facade, account_id: uuid.UUID | None = None
) -> list[OrderRecord]:
    """The active scheduled payments or standing orders of the consent's accounts, or of the one asked for."""
    return await facade.consent_payment_orders(consent_id, client_id, account_id, kind)
