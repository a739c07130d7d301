"""What four-eyes approvals refuse; each app's problem+json handler writes them."""

from __future__ import annotations

import uuid

from obank.problems import ProblemError


class SelfApprovalRefused(ProblemError):
    status = 403
    code = "self_approval_refused"
    title = "A second staff member must approve this"

    def __init__(self, approval_id: uuid.UUID) -> None:
        super().__init__(f"approval {approval_id} was requested by you; another staff member must approve it")


class ApprovalNotFound(ProblemError):
    status = 404
    code = "approval_not_found"
    title = "Approval not found"

    def __init__(self, approval_id: uuid.UUID) -> None:
        super().__init__(f"no approval {approval_id}")


class ApprovalMismatch(ProblemError):
    status = 409
    code = "approval_mismatch"
    title = "The approval was requested for another action"

    def __init__(self, approval_id: uuid.UUID) -> None:
        super().__init__(
            f"approval {approval_id} is for another operation, target or request body: repeat the request it was for"
        )


class ApprovalNotPending(ProblemError):
    status = 409
    code = "approval_not_pending"
    title = "The approval is no longer pending"

    def __init__(self, approval_id: uuid.UUID, status: str) -> None:
        super().__init__(f"approval {approval_id} is {status}: request the action again")
