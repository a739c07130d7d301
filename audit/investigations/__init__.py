"""Investigations: the timeline of what a customer, account, payment or request touched, and staff decryptions of
audit records with a reason, themselves audited."""
