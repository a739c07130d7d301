"""Tokens: RFC 9068 JWT access tokens bound to the client certificate, introspection and revocation."""
