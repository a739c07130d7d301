"""Routes of the Payment Initiation API's domestic payments, scheduled payments and standing orders, relative to
/open-banking/v4.0/pisp; operation ids as the spec's.

Message signing (R/W API Profile, "Message Signing"): the v4.0 Payment Initiation OpenAPI requires
`x-jws-signature` on every POST and on every response. `JwsSignature` verifies the TPP's signature over the
request body before the route runs (400 U015-U019 otherwise); `open_banking.signing` signs the responses.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request

from core_banking.facade import ConsentRecord, PaymentOrderDetails
from open_banking.auth import PaymentsClient, PaymentsConsent
from open_banking.dependencies import CoreBankingDep, SelfUrlDep, public_url
from open_banking.errors import ob_error_responses
from open_banking.fapi import FapiHeadersDep, fapi_headers
from open_banking.negotiation import OBRoute
from open_banking.pisp import order_service, service
from open_banking.pisp.errors import IDEMPOTENCY_KEY
from open_banking.pisp.order_schemas import (
    OBWriteDomesticScheduled2,
    OBWriteDomesticScheduledConsent4,
    OBWriteDomesticScheduledConsentResponse5,
    OBWriteDomesticScheduledResponse5,
    OBWriteDomesticStandingOrder3,
    OBWriteDomesticStandingOrderConsent5,
    OBWriteDomesticStandingOrderConsentResponse6,
    OBWriteDomesticStandingOrderResponse6,
)
from open_banking.pisp.order_service import SCHEDULED, STANDING_ORDERS
from open_banking.pisp.schemas import (
    OBWriteDomestic2,
    OBWriteDomesticConsent4,
    OBWriteDomesticConsentResponse5,
    OBWriteDomesticResponse5,
    OBWriteFundsConfirmationResponse1,
    OBWritePaymentDetailsResponse1,
)
from open_banking.signing import SignedRequest

router = APIRouter(route_class=OBRoute, dependencies=[Depends(fapi_headers)])

ConsentId = Annotated[str, Path(alias="ConsentId", min_length=1, max_length=128)]
DomesticPaymentId = Annotated[str, Path(alias="DomesticPaymentId", min_length=1, max_length=40)]
DomesticScheduledPaymentId = Annotated[str, Path(alias="DomesticScheduledPaymentId", min_length=1, max_length=40)]
DomesticStandingOrderId = Annotated[str, Path(alias="DomesticStandingOrderId", min_length=1, max_length=40)]
# R/W API Profile, "Idempotency": required on these POSTs, at most 40 characters; the spec's pattern
# `^(?!\s)(.*)(\S)$` without the look-ahead, which the validator's regex engine lacks.
IdempotencyKey = Annotated[
    str,
    Header(
        alias=IDEMPOTENCY_KEY,
        max_length=40,
        pattern=r"^\S(?:.*\S)?$",
        description="The same key and body within 24 hours get the resource first created (201), another body 400.",
    ),
]

# R/W API Profile, "Message Signing": these requests must carry a detached JWS of their body by the TPP's
# registered key, verified before the route runs; a missing or invalid one is refused (400), nothing done.
JwsSignature = SignedRequest


@router.post(
    "/domestic-payment-consents",
    status_code=201,
    operation_id="CreateDomesticPaymentConsents",
    tags=["Domestic Payments"],
    summary="Create Domestic Payment Consents",
    response_model=OBWriteDomesticConsentResponse5,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 415, 500),
)
async def create_domestic_payment_consent(
    body: OBWriteDomesticConsent4,
    client: PaymentsClient,
    core_banking: CoreBankingDep,
    request: Request,
    fapi: FapiHeadersDep,
    idempotency_key: IdempotencyKey,
    jws_signature: JwsSignature,
) -> OBWriteDomesticConsentResponse5:
    del jws_signature  # verified by its dependency before the route runs
    consent = await service.create_consent(core_banking, client.client_id, body, idempotency_key, fapi)
    initiation, risk = service.consent_initiation(consent)
    # Links.Self of a created resource is the resource itself (R/W API Profile, "Links").
    consent_url = public_url(request, f"{request.url.path.rstrip('/')}/{consent.id}")
    return OBWriteDomesticConsentResponse5.of(consent, initiation, risk, consent_url)


@router.get(
    "/domestic-payment-consents/{ConsentId}",
    operation_id="GetDomesticPaymentConsentsConsentId",
    tags=["Domestic Payments"],
    summary="Get Domestic Payment Consents",
    response_model=OBWriteDomesticConsentResponse5,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def get_domestic_payment_consent(
    consent_id: ConsentId, client: PaymentsClient, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBWriteDomesticConsentResponse5:
    consent = await service.get_consent(core_banking, client.client_id, consent_id)
    initiation, risk = service.consent_initiation(consent)
    return OBWriteDomesticConsentResponse5.of(consent, initiation, risk, self_url)


@router.get(
    "/domestic-payment-consents/{ConsentId}/funds-confirmation",
    operation_id="GetDomesticPaymentConsentsConsentIdFundsConfirmation",
    tags=["Domestic Payments"],
    summary="Get Domestic Payment Consents Funds Confirmation",
    response_model=OBWriteFundsConfirmationResponse1,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def get_domestic_payment_consent_funds_confirmation(
    consent_id: ConsentId, tpp: PaymentsConsent, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBWriteFundsConfirmationResponse1:
    answer = await service.confirm_funds(core_banking, tpp, consent_id)
    return OBWriteFundsConfirmationResponse1.of(answer, self_url)


@router.post(
    "/domestic-payments",
    status_code=201,
    operation_id="CreateDomesticPayments",
    tags=["Domestic Payments"],
    summary="Create Domestic Payments",
    response_model=OBWriteDomesticResponse5,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 415, 500),
)
async def create_domestic_payment(
    body: OBWriteDomestic2,
    tpp: PaymentsConsent,
    core_banking: CoreBankingDep,
    request: Request,
    fapi: FapiHeadersDep,
    idempotency_key: IdempotencyKey,
    jws_signature: JwsSignature,
) -> OBWriteDomesticResponse5:
    del jws_signature  # verified by its dependency before the route runs
    payment, initiation = await service.make_payment(core_banking, tpp, body, idempotency_key, fapi)
    payment_url = public_url(request, f"{request.url.path.rstrip('/')}/{payment.id}")
    return OBWriteDomesticResponse5.of(payment, initiation, payment_url)


@router.get(
    "/domestic-payments/{DomesticPaymentId}",
    operation_id="GetDomesticPaymentsDomesticPaymentId",
    tags=["Domestic Payments"],
    summary="Get Domestic Payments",
    response_model=OBWriteDomesticResponse5,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def get_domestic_payment(
    payment_id: DomesticPaymentId, client: PaymentsClient, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBWriteDomesticResponse5:
    payment, initiation = await service.get_payment(core_banking, client.client_id, payment_id)
    return OBWriteDomesticResponse5.of(payment, initiation, self_url)


@router.get(
    "/domestic-payments/{DomesticPaymentId}/payment-details",
    operation_id="GetDomesticPaymentsDomesticPaymentIdPaymentDetails",
    tags=["Domestic Payments"],
    summary="Get Payment Details",
    response_model=OBWritePaymentDetailsResponse1,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def get_domestic_payment_details(
    payment_id: DomesticPaymentId, client: PaymentsClient, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBWritePaymentDetailsResponse1:
    payment, initiation = await service.get_payment(core_banking, client.client_id, payment_id)
    return OBWritePaymentDetailsResponse1.of(payment, initiation.LocalInstrument, self_url)


@router.post(
    "/domestic-scheduled-payment-consents",
    status_code=201,
    operation_id="CreateDomesticScheduledPaymentConsents",
    tags=["Domestic Scheduled Payments"],
    summary="Create Domestic Scheduled Payment Consents",
    response_model=OBWriteDomesticScheduledConsentResponse5,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 415, 500),
)
async def create_domestic_scheduled_payment_consent(
    body: OBWriteDomesticScheduledConsent4,
    client: PaymentsClient,
    core_banking: CoreBankingDep,
    request: Request,
    fapi: FapiHeadersDep,
    idempotency_key: IdempotencyKey,
    jws_signature: JwsSignature,
) -> OBWriteDomesticScheduledConsentResponse5:
    del jws_signature  # verified by its dependency before the route runs
    details = order_service.scheduled_details(body.Data.Initiation, body.Risk)
    consent = await order_service.create_consent(
        core_banking, SCHEDULED, client.client_id, details, body.Data.ReadRefundAccount, idempotency_key, fapi
    )
    consent_url = public_url(request, f"{request.url.path.rstrip('/')}/{consent.id}")
    return _scheduled_consent(consent, consent_url)


def _scheduled_consent(consent: ConsentRecord, url: str) -> OBWriteDomesticScheduledConsentResponse5:
    initiation, risk = order_service.scheduled_initiation(consent)
    assert isinstance(consent.details, PaymentOrderDetails)
    expected = consent.details.first_execution_at
    return OBWriteDomesticScheduledConsentResponse5.of(consent, initiation, risk, expected, url)


@router.get(
    "/domestic-scheduled-payment-consents/{ConsentId}",
    operation_id="GetDomesticScheduledPaymentConsentsConsentId",
    tags=["Domestic Scheduled Payments"],
    summary="Get Domestic Scheduled Payment Consents",
    response_model=OBWriteDomesticScheduledConsentResponse5,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def get_domestic_scheduled_payment_consent(
    consent_id: ConsentId, client: PaymentsClient, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBWriteDomesticScheduledConsentResponse5:
    consent = await order_service.get_consent(core_banking, SCHEDULED, client.client_id, consent_id)
    return _scheduled_consent(consent, self_url)


@router.post(
    "/domestic-scheduled-payments",
    status_code=201,
    operation_id="CreateDomesticScheduledPayments",
    tags=["Domestic Scheduled Payments"],
    summary="Create Domestic Scheduled Payments",
    response_model=OBWriteDomesticScheduledResponse5,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 415, 500),
)
async def create_domestic_scheduled_payment(
    body: OBWriteDomesticScheduled2,
    tpp: PaymentsConsent,
    core_banking: CoreBankingDep,
    request: Request,
    fapi: FapiHeadersDep,
    idempotency_key: IdempotencyKey,
    jws_signature: JwsSignature,
) -> OBWriteDomesticScheduledResponse5:
    del jws_signature  # verified by its dependency before the route runs
    order, consent = await order_service.make_order(
        core_banking, SCHEDULED, tpp, body.Data.ConsentId, body.Data.Initiation, idempotency_key, fapi
    )
    order_url = public_url(request, f"{request.url.path.rstrip('/')}/{order.id}")
    return order_service.scheduled_response(order_service.OrderView(order, consent, {}), order_url)


@router.get(
    "/domestic-scheduled-payments/{DomesticScheduledPaymentId}",
    operation_id="GetDomesticScheduledPaymentsDomesticScheduledPaymentId",
    tags=["Domestic Scheduled Payments"],
    summary="Get Domestic Scheduled Payments",
    response_model=OBWriteDomesticScheduledResponse5,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def get_domestic_scheduled_payment(
    order_id: DomesticScheduledPaymentId, client: PaymentsClient, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBWriteDomesticScheduledResponse5:
    seen = await order_service.get_order(core_banking, SCHEDULED, client.client_id, order_id)
    return order_service.scheduled_response(seen, self_url)


@router.get(
    "/domestic-scheduled-payments/{DomesticScheduledPaymentId}/payment-details",
    operation_id="GetDomesticScheduledPaymentsDomesticScheduledPaymentIdPaymentDetails",
    tags=["Domestic Scheduled Payments"],
    summary="Get Payment Details",
    response_model=OBWritePaymentDetailsResponse1,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def get_domestic_scheduled_payment_details(
    order_id: DomesticScheduledPaymentId, client: PaymentsClient, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBWritePaymentDetailsResponse1:
    seen = await order_service.get_order(core_banking, SCHEDULED, client.client_id, order_id)
    initiation, _ = order_service.scheduled_initiation(seen.consent)
    return order_service.payment_details(seen, initiation.LocalInstrument, self_url)


@router.post(
    "/domestic-standing-order-consents",
    status_code=201,
    operation_id="CreateDomesticStandingOrderConsents",
    tags=["Domestic Standing Orders"],
    summary="Create Domestic Standing Order Consents",
    response_model=OBWriteDomesticStandingOrderConsentResponse6,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 415, 500),
)
async def create_domestic_standing_order_consent(
    body: OBWriteDomesticStandingOrderConsent5,
    client: PaymentsClient,
    core_banking: CoreBankingDep,
    request: Request,
    fapi: FapiHeadersDep,
    idempotency_key: IdempotencyKey,
    jws_signature: JwsSignature,
) -> OBWriteDomesticStandingOrderConsentResponse6:
    del jws_signature  # verified by its dependency before the route runs
    details = order_service.standing_order_details(body.Data.Initiation, body.Risk)
    consent = await order_service.create_consent(
        core_banking, STANDING_ORDERS, client.client_id, details, body.Data.ReadRefundAccount, idempotency_key, fapi
    )
    initiation, risk = order_service.standing_order_initiation(consent)
    consent_url = public_url(request, f"{request.url.path.rstrip('/')}/{consent.id}")
    return OBWriteDomesticStandingOrderConsentResponse6.of(consent, initiation, risk, consent_url)


@router.get(
    "/domestic-standing-order-consents/{ConsentId}",
    operation_id="GetDomesticStandingOrderConsentsConsentId",
    tags=["Domestic Standing Orders"],
    summary="Get Domestic Standing Order Consents",
    response_model=OBWriteDomesticStandingOrderConsentResponse6,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def get_domestic_standing_order_consent(
    consent_id: ConsentId, client: PaymentsClient, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBWriteDomesticStandingOrderConsentResponse6:
    consent = await order_service.get_consent(core_banking, STANDING_ORDERS, client.client_id, consent_id)
    initiation, risk = order_service.standing_order_initiation(consent)
    return OBWriteDomesticStandingOrderConsentResponse6.of(consent, initiation, risk, self_url)


@router.post(
    "/domestic-standing-orders",
    status_code=201,
    operation_id="CreateDomesticStandingOrders",
    tags=["Domestic Standing Orders"],
    summary="Create Domestic Standing Orders",
    response_model=OBWriteDomesticStandingOrderResponse6,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 415, 500),
)
async def create_domestic_standing_order(
    body: OBWriteDomesticStandingOrder3,
    tpp: PaymentsConsent,
    core_banking: CoreBankingDep,
    request: Request,
    fapi: FapiHeadersDep,
    idempotency_key: IdempotencyKey,
    jws_signature: JwsSignature,
) -> OBWriteDomesticStandingOrderResponse6:
    del jws_signature  # verified by its dependency before the route runs
    order, consent = await order_service.make_order(
        core_banking, STANDING_ORDERS, tpp, body.Data.ConsentId, body.Data.Initiation, idempotency_key, fapi
    )
    order_url = public_url(request, f"{request.url.path.rstrip('/')}/{order.id}")
    return order_service.standing_order_response(order_service.OrderView(order, consent, {}), order_url)


@router.get(
    "/domestic-standing-orders/{DomesticStandingOrderId}",
    operation_id="GetDomesticStandingOrdersDomesticStandingOrderId",
    tags=["Domestic Standing Orders"],
    summary="Get Domestic Standing Orders",
    response_model=OBWriteDomesticStandingOrderResponse6,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def get_domestic_standing_order(
    order_id: DomesticStandingOrderId, client: PaymentsClient, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBWriteDomesticStandingOrderResponse6:
    seen = await order_service.get_order(core_banking, STANDING_ORDERS, client.client_id, order_id)
    return order_service.standing_order_response(seen, self_url)


@router.get(
    "/domestic-standing-orders/{DomesticStandingOrderId}/payment-details",
    operation_id="GetDomesticStandingOrdersDomesticStandingOrderIdPaymentDetails",
    tags=["Domestic Standing Orders"],
    summary="Get Payment Details",
    response_model=OBWritePaymentDetailsResponse1,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def get_domestic_standing_order_details(
    order_id: DomesticStandingOrderId, client: PaymentsClient, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBWritePaymentDetailsResponse1:
    seen = await order_service.get_order(core_banking, STANDING_ORDERS, client.client_id, order_id)
    return order_service.payment_details(seen, None, self_url)
