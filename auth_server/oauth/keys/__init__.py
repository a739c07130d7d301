"""The authorization server's signing keys: generated, stored sealed, rotated, published as a JWK Set."""
