"""Routes of the Confirmation of Funds API, relative to /open-banking/v4.0/cbpii; operation ids as the spec's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request, Response

from open_banking.auth import FundsConfirmationsClient, FundsConfirmationsConsent
from open_banking.cbpii import service
from open_banking.cbpii.schemas import (
    OBFundsConfirmation1,
    OBFundsConfirmationConsent1,
    OBFundsConfirmationConsentResponse1,
    OBFundsConfirmationResponse1,
)
from open_banking.dependencies import CoreBankingDep, SelfUrlDep, public_url
from open_banking.errors import ob_error_responses
from open_banking.fapi import FapiHeadersDep, fapi_headers
from open_banking.negotiation import OBRoute

router = APIRouter(route_class=OBRoute, dependencies=[Depends(fapi_headers)], tags=["Funds Confirmations"])

ConsentId = Annotated[str, Path(alias="ConsentId", min_length=1, max_length=128)]
# R/W API Profile, "Idempotency": at most 40 characters; the components' pattern, without its look-ahead.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="x-idempotency-key",
        max_length=40,
        pattern=r"^\S(?:.*\S)?$",
        description="Within 24 hours, the same key and body create the consent once; another body is refused.",
    ),
]


@router.post(
    "/funds-confirmation-consents",
    status_code=201,
    operation_id="CreateFundsConfirmationConsents",
    summary="Create Funds Confirmation Consent",
    response_model=OBFundsConfirmationConsentResponse1,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 415, 500),
)
async def create_funds_confirmation_consent(
    body: OBFundsConfirmationConsent1,
    client: FundsConfirmationsClient,
    core_banking: CoreBankingDep,
    request: Request,
    fapi: FapiHeadersDep,
    idempotency_key: IdempotencyKey = None,
) -> OBFundsConfirmationConsentResponse1:
    consent = await service.create_consent(core_banking, client.client_id, body.Data, idempotency_key, fapi)
    # Links.Self of a created resource is the resource itself (R/W API Profile, "Links").
    consent_url = public_url(request, f"{request.url.path.rstrip('/')}/{consent.id}")
    return OBFundsConfirmationConsentResponse1.of(consent, consent_url)


@router.get(
    "/funds-confirmation-consents/{ConsentId}",
    operation_id="GetFundsConfirmationConsentsConsentId",
    summary="Get Funds Confirmation Consent",
    response_model=OBFundsConfirmationConsentResponse1,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def get_funds_confirmation_consent(
    consent_id: ConsentId, client: FundsConfirmationsClient, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBFundsConfirmationConsentResponse1:
    consent = await service.get_consent(core_banking, client.client_id, consent_id)
    return OBFundsConfirmationConsentResponse1.of(consent, self_url)


@router.delete(
    "/funds-confirmation-consents/{ConsentId}",
    status_code=204,
    operation_id="DeleteFundsConfirmationConsentsConsentId",
    summary="Delete Funds Confirmation Consent",
    response_class=Response,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def delete_funds_confirmation_consent(
    consent_id: ConsentId, client: FundsConfirmationsClient, core_banking: CoreBankingDep, fapi: FapiHeadersDep
) -> Response:
    await service.delete_consent(core_banking, client.client_id, consent_id, fapi)
    return Response(status_code=204)


@router.post(
    "/funds-confirmations",
    status_code=201,
    operation_id="CreateFundsConfirmations",
    summary="Create Funds Confirmation",
    response_model=OBFundsConfirmationResponse1,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 415, 500),
)
async def create_funds_confirmation(
    body: OBFundsConfirmation1,
    tpp: FundsConfirmationsConsent,
    core_banking: CoreBankingDep,
    self_url: SelfUrlDep,
    fapi: FapiHeadersDep,
) -> OBFundsConfirmationResponse1:
    answer = await service.confirm_funds(core_banking, tpp, body.Data, fapi)
    return OBFundsConfirmationResponse1.of(answer, self_url)
