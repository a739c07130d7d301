"""OpenID Connect UserInfo endpoint, sender-constrained (RFC 8705 s3)."""
