"""Routes of the Payment Initiation API's domestic payments, relative to /open-banking/v4.0/pisp; operation ids
as the spec's.

Message signing (R/W API Profile, "Message Signing"): the v4.0 Payment Initiation OpenAPI requires
`x-jws-signature` on both POSTs and on their responses. Requests without one are refused (400 U007); the
signature is not verified against the TPP's key, and responses are not signed, until the bank has a signing
key that TPPs can find (a trust anchor or a published JWKS).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request

from open_banking.auth import PaymentsClient, PaymentsConsent
from open_banking.dependencies import CoreBankingDep, SelfUrlDep, public_url
from open_banking.errors import ob_error_responses
from open_banking.fapi import FapiHeadersDep, fapi_headers
from open_banking.negotiation import OBRoute
from open_banking.pisp import service
from open_banking.pisp.errors import IDEMPOTENCY_KEY
from open_banking.pisp.schemas import (
    OBWriteDomestic2,
    OBWriteDomesticConsent4,
    OBWriteDomesticConsentResponse5,
    OBWriteDomesticResponse5,
    OBWriteFundsConfirmationResponse1,
    OBWritePaymentDetailsResponse1,
)

router = APIRouter(route_class=OBRoute, dependencies=[Depends(fapi_headers)])

ConsentId = Annotated[str, Path(alias="ConsentId", min_length=1, max_length=128)]
DomesticPaymentId = Annotated[str, Path(alias="DomesticPaymentId", min_length=1, max_length=40)]
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

# R/W API Profile, "Message Signing": these requests must carry a detached JWS of their body, and one without
# it is refused (400). Its signature is not verified yet, and responses are not signed (see the module doc).
JwsSignature = Annotated[
    str,
    Header(
        alias="x-jws-signature",
        max_length=8192,
        description="A detached JWS of the request body (RFC 7515 appendix F); required, not yet verified.",
    ),
]


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
    del jws_signature  # required by the profile; verification is to come
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
    del jws_signature  # required by the profile; verification is to come
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
