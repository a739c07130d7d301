"""Four-eyes approvals (maker-checker) of high-risk staff actions; knows nothing of what the actions do.

A route asks `service.require_approval(...)` before acting: the first call records a PENDING approval (answer
it with `http.pending_response`, 202), the same call by a second staff member with the `Obank-Approval-Id`
header (`http.ApprovalIdHeader`) approves it and goes on in the same transaction. `router.router` is the staff
API (list, read, reject or withdraw).
"""
