"""The facade's routes for other contexts in other processes (`/internal/v1`); the gateway never routes here.

Each call carries an internal assertion of a `service` principal, signed with the deployment's internal key,
and runs `InProcessCoreBanking` in this process: the same code as an in-process call.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from core_banking.accounts.schemas import AccountRecord
from core_banking.consents.schemas import ConsentRecord
from core_banking.errors import PROBLEM_RESPONSES, Forbidden
from core_banking.facade import InProcessCoreBanking
from core_banking.internal import PREFIX
from core_banking.internal.schemas import AuthoriseConsent, CustomerExists, RejectConsent, RevokeConsent
from obank.principal import PrincipalDep
from obank.runtime import Platform


async def _facade(request: Request, principal: PrincipalDep) -> InProcessCoreBanking:
    if principal.kind != "service":
        raise Forbidden("the internal facade serves the platform's own services only")
    platform: Platform = request.app.state.platform
    return InProcessCoreBanking(platform.sessions, platform.keyring)


Facade = Annotated[InProcessCoreBanking, Depends(_facade)]
ConsentId = Annotated[str, Path(min_length=1, max_length=128)]
router = APIRouter(prefix=PREFIX, tags=["internal facade"], responses=PROBLEM_RESPONSES)


@router.get("/customers/{customer_id}")
async def customer_exists(customer_id: uuid.UUID, facade: Facade) -> CustomerExists:
    """Whether the customer exists (no personal data)."""
    return CustomerExists(exists=await facade.customer_exists(customer_id))


@router.get("/customers/{customer_id}/accounts")
async def list_customer_accounts(customer_id: uuid.UUID, facade: Facade) -> list[AccountRecord]:
    """Every account of the customer, oldest first."""
    return await facade.list_customer_accounts(customer_id)


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
    """The customer withdrew an authorised account access consent (idempotent)."""
    return await facade.revoke_consent(consent_id, customer_id=body.customer_id, session_id=body.session_id)
