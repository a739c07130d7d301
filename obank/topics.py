"""Outbox topics and event types that cross context boundaries: the publisher and its consumers import these."""

from __future__ import annotations

# A customer's grants at the authorization server (published by auth_server).
GRANTS_TOPIC = "auth_server.grants"
GRANT_REVOKED = "grant.revoked"  # payload: grant_id, client_id, customer_id, consent_id, ...

# Open Banking consents (published by core_banking); every payload is the consent's snapshot: consent_id,
# kind, client_id, status, customer_id, account_ids, revoked_by, the kind's details, and for a lapse `reason`.
CONSENTS_TOPIC = "core_banking.consents"
CONSENT_CREATED = "consent.created"
CONSENT_AUTHORISED = "consent.authorised"
CONSENT_REJECTED = "consent.rejected"  # by the customer, or unanswered within the authorisation window
CONSENT_REVOKED = "consent.revoked"  # by the TPP (DELETE) or the customer; `revoked_by` says which
CONSENT_EXPIRED = "consent.expired"  # its ExpirationDateTime passed
CONSENT_CONSUMED = "consent.consumed"  # a payment consent's one payment was made (in the payment's transaction)

# Payments (published by core_banking): the saga's steps and every status change of a payment. Payloads carry
# payment_id, status (ISO 20022: PDNG, ACSP, ACSC, RJCT), reason, amount and accounts.
PAYMENTS_TOPIC = "core_banking.payments"

# The Faster Payments scheme and the bank, its participant, exchange ISO 20022 messages over two topics.
# Event type: the message definition ("pacs.008.001.08", "pacs.002.001.10", "pacs.028.001.03"); payload:
# {"xml": the message}. Key: the transaction id (so one transaction's messages keep their order).
FPS_TO_SCHEME_TOPIC = "faster_payments.to_scheme"  # from the bank: pacs.008 out, pacs.002 answers, pacs.028
FPS_TO_BANK_TOPIC = "faster_payments.to_bank"  # from the scheme: pacs.002 answers, pacs.008 payments received

# Four-eyes approvals of high-risk staff actions (published by obank.approvals in the deciding app's transaction).
# Payload: approval_id, kind, target, method, path, status, requested_by, requested_at, expires_at, decided_by,
# decided_at (never the request body).
APPROVALS_TOPIC = "platform.approvals"
APPROVAL_REQUESTED = "approval.requested"
APPROVAL_DECIDED = "approval.decided"  # APPROVED, REJECTED or WITHDRAWN: `status` says which
