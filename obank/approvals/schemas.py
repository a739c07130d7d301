"""Approvals as the service, the staff API and the routes that need them see them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, StringConstraints

from obank.approvals.models import REASON_MAX, ApprovalStatus, StaffApproval

LIST_LIMIT = 50
LIST_MAX = 200


def effective_status(approval: StaffApproval, now: datetime) -> ApprovalStatus:
    """The status as every reader sees it at `now`: a pending approval past its expiry is EXPIRED."""
    if approval.status is ApprovalStatus.PENDING and approval.expires_at <= now:
        return ApprovalStatus.EXPIRED
    return approval.status


class ApprovalRead(BaseModel):
    """A four-eyes approval: the action held (kind, target, request), who asked, who decided and when."""

    id: uuid.UUID
    kind: str
    target: str
    method: str
    path: str
    params: dict[str, Any]
    status: ApprovalStatus
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None

    @classmethod
    def from_model(cls, approval: StaffApproval, now: datetime) -> Self:
        return cls(
            id=approval.id,
            kind=approval.kind,
            target=approval.target,
            method=approval.method,
            path=approval.path,
            params=approval.params,
            status=effective_status(approval, now),
            requested_by=approval.requested_by,
            requested_at=approval.requested_at,
            expires_at=approval.expires_at,
            decided_by=approval.decided_by,
            decided_at=approval.decided_at,
            decision_reason=approval.decision_reason,
        )


class ApprovalPending(BaseModel):
    """The 202 answer of an action that waits for a second staff member: repeat it with `Obank-Approval-Id`."""

    approval: ApprovalRead


class ApprovalRejection(BaseModel):
    """Why another staff member rejects the action (or its maker withdraws it)."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=REASON_MAX)]
