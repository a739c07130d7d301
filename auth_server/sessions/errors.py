"""Session errors."""

from __future__ import annotations

from auth_server.errors import AuthError


class SessionNotFound(AuthError):
    status = 401
    code = "session_not_found"
    title = "Your session has ended. Please sign in again."
