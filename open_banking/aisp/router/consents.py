"""Account access consents: the TPP creates, reads and deletes them with its client credentials token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Header, Path, Request, Response

from open_banking.aisp.errors import IDEMPOTENCY_KEY
from open_banking.aisp.router.common import router
from open_banking.aisp.schemas import OBReadConsent1, OBReadConsentResponse1
from open_banking.aisp.service import consents as service
from open_banking.auth import AccountsClient
from open_banking.dependencies import CoreBankingDep, SelfUrlDep, public_url
from open_banking.errors import ob_error_responses
from open_banking.fapi import FapiHeadersDep

ConsentId = Annotated[str, Path(alias="ConsentId", min_length=1, max_length=128)]
# R/W API Profile, "Idempotency": at most 40 characters; the spec's pattern `^(?!\s)(.*)(\S)$` without the
# look-ahead, which the validator's regex engine lacks (no blank first or last character).
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_KEY,
        max_length=40,
        pattern=r"^\S(?:.*\S)?$",
        description="The same key and body within 24 hours get the consent first created (201), another body 400.",
    ),
]


@router.post(
    "/account-access-consents",
    operation_id="CreateAccountAccessConsents",
    tags=["Account Access"],
    summary="Create Account Access Consents",
    status_code=201,
    response_model=OBReadConsentResponse1,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 415, 500),
)
async def create_account_access_consent(
    body: OBReadConsent1,
    client: AccountsClient,
    core_banking: CoreBankingDep,
    request: Request,
    fapi: FapiHeadersDep,
    idempotency_key: IdempotencyKey = None,
) -> OBReadConsentResponse1:
    consent = await service.create_account_access_consent(core_banking, client.client_id, body, idempotency_key, fapi)
    self_url = public_url(request, f"{request.url.path}/{consent.id}")
    return OBReadConsentResponse1.of(consent, self_url, datetime.now(UTC))


@router.get(
    "/account-access-consents/{ConsentId}",
    operation_id="GetAccountAccessConsentsConsentId",
    tags=["Account Access"],
    summary="Get Account Access Consents",
    response_model=OBReadConsentResponse1,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def get_account_access_consent(
    consent_id: ConsentId, client: AccountsClient, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBReadConsentResponse1:
    consent = await service.get_account_access_consent(core_banking, client.client_id, consent_id)
    return OBReadConsentResponse1.of(consent, self_url, datetime.now(UTC))


@router.delete(
    "/account-access-consents/{ConsentId}",
    operation_id="DeleteAccountAccessConsentsConsentId",
    tags=["Account Access"],
    summary="Delete Account Access Consents",
    status_code=204,
    response_class=Response,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def delete_account_access_consent(
    consent_id: ConsentId, client: AccountsClient, core_banking: CoreBankingDep, fapi: FapiHeadersDep
) -> Response:
    await service.delete_account_access_consent(core_banking, client.client_id, consent_id, fapi)
    return Response(status_code=204)
