"""Session errors."""

from __future__ import annotations

from auth_server.errors import AuthError


class SessionNotFound(AuthError):
    status = 401
    code = "session_not_found"
    title = "Your session has ended. Please sign in again."


class NotACustomer(AuthError):
    """The sessions API serves customers through their first-party app (`openid` scope) only."""

    status = 403
    code = "forbidden"
    title = "Only customers have sign-in sessions to manage here"


class CustomerSessionNotFound(AuthError):
    """No live session of the calling customer has this id (another's reads exactly like an unknown one)."""

    status = 404
    code = "session_not_found"
    title = "There is no such session on your login"
