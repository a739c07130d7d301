"""Client authentication at the token, PAR, introspection and revocation endpoints (FAPI 2.0 SP s5.3.2.1)."""
