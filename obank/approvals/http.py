"""Four-eyes approvals at the HTTP edge: the `Obank-Approval-Id` header and the 202 answer of a held action."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse

from obank.approvals.schemas import ApprovalPending, ApprovalRead
from obank.problems import problem_responses

APPROVAL_HEADER = "Obank-Approval-Id"

# Optional: absent on the maker's call; on the checker's, the pending approval's id (not a UUID: a 422 problem).
ApprovalIdHeader = Annotated[
    uuid.UUID | None,
    Header(
        alias=APPROVAL_HEADER,
        description="The pending approval this request carries out (a second staff member's call)",
    ),
]

# OpenAPI `responses` of a route that needs a second staff member: the 202 and the approvals' refusals.
APPROVAL_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "model": ApprovalPending,
        "description": "Held for a second staff member: nothing done yet; they repeat the request with "
        f"`{APPROVAL_HEADER}` and the same body",
    },
    **problem_responses(
        (
            (403, "The principal may not do this, or approves their own request (`self_approval_refused`)"),
            (404, "Unknown resource, or no such approval (`approval_not_found`)"),
            (
                409,
                "Conflicts with the resource's state, or the approval is for another request (`approval_mismatch`) "
                "or decided or expired (`approval_not_pending`)",
            ),
        )
    ),
}


def pending_response(approval: ApprovalRead) -> JSONResponse:
    """202 with the pending approval: the action waits for a second staff member."""
    return JSONResponse(ApprovalPending(approval=approval).model_dump(mode="json"), status_code=202)
