"""Authorization server metadata: OpenID Connect Discovery and RFC 8414."""
