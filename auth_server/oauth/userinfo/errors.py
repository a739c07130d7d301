"""The userinfo endpoint's refusals beyond an invalid token."""

from __future__ import annotations

from typing import ClassVar

from auth_server.oauth.errors import NO_STORE, OAuthError


class InsufficientScope(OAuthError):
    """RFC 6750 s3.1: the access token was not granted `openid`, the scope userinfo needs."""

    error: ClassVar[str] = "insufficient_scope"
    status: ClassVar[int] = 403

    def headers(self) -> dict[str, str]:
        return {**NO_STORE, "WWW-Authenticate": f'Bearer error="{self.error}", scope="openid"'}
