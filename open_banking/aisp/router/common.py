"""What every Account and Transaction API route shares: the router, path parameters, documented errors, envelope.

One router for the whole API, each module adding its routes to it: the discovery document and the OpenAPI
document read the family's routes straight off it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from open_banking import schemas as envelope
from open_banking.errors import ob_error_responses
from open_banking.fapi import fapi_headers
from open_banking.negotiation import OBRoute

router = APIRouter(route_class=OBRoute, dependencies=[Depends(fapi_headers)])

AccountIdPath = Annotated[str, Path(alias="AccountId", min_length=1, max_length=40)]
StatementIdPath = Annotated[str, Path(alias="StatementId", min_length=1, max_length=40)]

# The errors of every read: 401 without a body, or with TKXP for an expired consent.
READ_ERRORS: dict[int | str, dict[str, Any]] = ob_error_responses(400, 401, 403, 405, 406, 500)


def one_page(self_url: str) -> dict[str, Any]:
    """Links and Meta of a list served whole: one page."""
    return {"Links": envelope.Links(Self=self_url), "Meta": envelope.Meta(TotalPages=1)}
