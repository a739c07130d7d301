"""Outbox topics and event types that cross context boundaries: the publisher and its consumers import these."""

from __future__ import annotations

# A customer's grants at the authorization server (published by auth_server).
GRANTS_TOPIC = "auth_server.grants"
GRANT_REVOKED = "grant.revoked"  # payload: grant_id, client_id, customer_id, consent_id, ...
