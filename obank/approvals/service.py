"""Four-eyes approvals: a high-risk staff action runs only when a second staff member repeats it.

The action's route asks `require_approval` first. Without an approval id the request is recorded as PENDING
and nothing else happens (the route answers 202); with one, the approval must be PENDING, for the very same
action and request, and asked for by someone else: it becomes APPROVED in the route's own unit of work, so
the action and its approval commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from obank.approvals import repository
from obank.approvals.errors import ApprovalMismatch, ApprovalNotFound, ApprovalNotPending, SelfApprovalRefused
from obank.approvals.models import ApprovalStatus, StaffApproval
from obank.approvals.schemas import LIST_LIMIT, LIST_MAX, ApprovalRead, effective_status
from obank.principal import Principal
from obank.topics import APPROVAL_DECIDED, APPROVAL_REQUESTED, APPROVALS_TOPIC
from obank.unit_of_work import UnitOfWork

LIFETIME = timedelta(hours=24)


def params_hash(params: Mapping[str, Any]) -> bytes:
    """SHA-256 of the request body in canonical JSON: the checker's body must hash the same."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).digest()


def _payload(approval: StaffApproval) -> dict[str, Any]:
    """What events carry: the action and who decided, never the request body (it may hold free text)."""
    return {
        "approval_id": str(approval.id),
        "kind": approval.kind,
        "target": approval.target,
        "method": approval.method,
        "path": approval.path,
        "status": approval.status.value,
        "requested_by": approval.requested_by,
        "requested_at": approval.requested_at.isoformat(),
        "expires_at": approval.expires_at.isoformat(),
        "decided_by": approval.decided_by,
        "decided_at": None if approval.decided_at is None else approval.decided_at.isoformat(),
    }


def _report(uow: UnitOfWork, event_type: str, action: str, approval: StaffApproval, **audited: Any) -> None:
    payload = _payload(approval)
    uow.publish(topic=APPROVALS_TOPIC, event_type=event_type, key=str(approval.id), payload=payload)
    # The audit record (encrypted at rest) keeps the request body and any reason too.
    after = {**payload, "params": approval.params, **audited}
    uow.audit(action=action, entity_type="staff_approval", entity_id=str(approval.id), after=after)


async def require_approval(
    uow: UnitOfWork,
    *,
    staff: Principal,
    kind: str,
    target: str,
    method: str,
    path: str,
    params: Mapping[str, Any],
    approval_id: uuid.UUID | None,
) -> ApprovalRead | None:
    """None: approved now by a second staff member (go on, in this same unit of work).
    An ApprovalRead: a new PENDING request (answer 202 with it). Raises the errors above."""
    now = datetime.now(UTC)
    method = method.upper()
    fingerprint = params_hash(params)
    if approval_id is None:
        approval = StaffApproval(
            id=uuid.uuid4(),
            kind=kind,
            target=target,
            method=method,
            path=path,
            params=dict(params),
            params_hash=fingerprint,
            requested_by=staff.subject,
            requested_at=now,
            expires_at=now + LIFETIME,
            status=ApprovalStatus.PENDING,
        )
        await repository.add(uow.session, approval)
        _report(uow, APPROVAL_REQUESTED, "approval.requested", approval)
        return ApprovalRead.from_model(approval, now)

    approval = await _locked(uow.session, approval_id)
    if (approval.kind, approval.target, approval.method, approval.path, approval.params_hash) != (
        kind,
        target,
        method,
        path,
        fingerprint,
    ):
        raise ApprovalMismatch(approval_id)
    _still_pending(approval, now)
    if approval.requested_by == staff.subject:
        raise SelfApprovalRefused(approval_id)
    _decide(approval, ApprovalStatus.APPROVED, staff, now, reason=None)
    await uow.session.flush()
    _report(uow, APPROVAL_DECIDED, "approval.approved", approval)
    return None


async def reject_approval(
    uow: UnitOfWork, staff: Principal, approval_id: uuid.UUID, reason: str, *, now: datetime | None = None
) -> ApprovalRead:
    """Another staff member rejects a pending approval; its maker withdraws it. Either way the action never runs."""
    now = now or datetime.now(UTC)
    approval = await _locked(uow.session, approval_id)
    _still_pending(approval, now)
    withdrawn = approval.requested_by == staff.subject
    status = ApprovalStatus.WITHDRAWN if withdrawn else ApprovalStatus.REJECTED
    _decide(approval, status, staff, now, reason=reason)
    await uow.session.flush()
    _report(uow, APPROVAL_DECIDED, "approval.withdrawn" if withdrawn else "approval.rejected", approval, reason=reason)
    return ApprovalRead.from_model(approval, now)


async def get_approval(session: AsyncSession, approval_id: uuid.UUID, *, now: datetime | None = None) -> ApprovalRead:
    approval = await repository.get(session, approval_id)
    if approval is None:
        raise ApprovalNotFound(approval_id)
    return ApprovalRead.from_model(approval, now or datetime.now(UTC))


async def list_approvals(
    session: AsyncSession,
    *,
    status: ApprovalStatus | None = None,
    kind: str | None = None,
    before: datetime | None = None,
    limit: int = LIST_LIMIT,
    now: datetime | None = None,
) -> list[ApprovalRead]:
    """Approvals newest first, by status as readers see it (pending ones past their expiry are EXPIRED)."""
    now = now or datetime.now(UTC)
    approvals = await repository.list_approvals(
        session, now=now, status=status, kind=kind, before=before, limit=min(limit, LIST_MAX)
    )
    return [ApprovalRead.from_model(approval, now) for approval in approvals]


async def _locked(session: AsyncSession, approval_id: uuid.UUID) -> StaffApproval:
    approval = await repository.get(session, approval_id, for_update=True)
    if approval is None:
        raise ApprovalNotFound(approval_id)
    return approval


def _still_pending(approval: StaffApproval, now: datetime) -> None:
    status = effective_status(approval, now)
    if status is not ApprovalStatus.PENDING:
        raise ApprovalNotPending(approval.id, status.value)


def _decide(
    approval: StaffApproval, status: ApprovalStatus, staff: Principal, now: datetime, *, reason: str | None
) -> None:
    approval.status = status
    approval.decided_by = staff.subject
    approval.decided_at = now
    approval.decision_reason = reason
