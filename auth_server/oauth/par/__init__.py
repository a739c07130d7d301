"""Pushed authorization requests (RFC 9126): the only way an authorization request reaches this server."""
