"""What every server-rendered page of the platform shares: CSRF tokens and the security headers (strict CSP)."""
