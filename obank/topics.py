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
