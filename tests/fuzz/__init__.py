"""Schemathesis runs against every public OpenAPI document (issue 18)."""
