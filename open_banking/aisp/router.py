"""Routes of the Account and Transaction API, relative to /open-banking/v4.0/aisp; operation ids as the spec's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from open_banking.aisp import service
from open_banking.aisp.schemas import OBReadConsentResponse1
from open_banking.auth import AccountsClient
from open_banking.dependencies import CoreBankingDep, SelfUrlDep
from open_banking.errors import ob_error_responses
from open_banking.fapi import fapi_headers
from open_banking.negotiation import OBRoute

router = APIRouter(route_class=OBRoute, dependencies=[Depends(fapi_headers)])

ConsentId = Annotated[str, Path(alias="ConsentId", min_length=1, max_length=128)]


@router.get(
    "/account-access-consents/{ConsentId}",
    operation_id="GetAccountAccessConsentsConsentId",
    summary="Get Account Access Consents",
    tags=["Account Access"],
    response_model=OBReadConsentResponse1,
    response_model_exclude_none=True,
    responses=ob_error_responses(400, 401, 403, 405, 406, 500),
)
async def get_account_access_consent(
    consent_id: ConsentId, client: AccountsClient, core_banking: CoreBankingDep, self_url: SelfUrlDep
) -> OBReadConsentResponse1:
    consent = await service.get_account_access_consent(core_banking, client.client_id, consent_id)
    return OBReadConsentResponse1.of(consent, self_url, datetime.now(UTC))
