"""The authorization endpoint (RFC 6749 s3.1, pushed requests only): authorization sessions, consent, codes."""
