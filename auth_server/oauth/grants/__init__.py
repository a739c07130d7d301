"""Consent sessions (grants): what a customer allowed a client, until it expires or is revoked."""
