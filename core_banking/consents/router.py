"""Admin API: the Open Banking consents a customer authorised (any staff role); TPPs' routes are open_banking's."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from core_banking.consents import service
from core_banking.consents.schemas import ConsentSummaryRead
from core_banking.dependencies import AnyStaff
from core_banking.errors import PROBLEM_RESPONSES
from obank.database import SessionDep
from obank.inputs import BoundedDateTime

staff_router = APIRouter(prefix="/admin/v1/customers", tags=["admin: customers"], responses=PROBLEM_RESPONSES)


@staff_router.get("/{customer_id}/consents")
async def list_customer_consents(
    customer_id: uuid.UUID,
    staff: AnyStaff,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200, description="How many, newest first")] = 50,
    before: Annotated[
        BoundedDateTime | None, Query(description="Only consents created before this instant (the next page)")
    ] = None,
) -> list[ConsentSummaryRead]:
    """The customer's Open Banking consents newest first: kind, TPP client, status now, expiry and accounts."""
    records = await service.list_customer_consents(session, customer_id, limit=limit, before=before)
    return [ConsentSummaryRead.from_record(record) for record in records]
