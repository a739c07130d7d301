"""Errors of the pages themselves."""

from __future__ import annotations

from auth_server.errors import AuthError


class CsrfRejected(AuthError):
    status = 403
    code = "csrf_rejected"
    title = "This form has expired or did not come from this site. Go back, reload the page and try again."


class SignInIncomplete(AuthError):
    """Raised by pages that need a signed-in browser when it is still between sign-in steps."""

    status = 303
    code = "sign_in_incomplete"
    title = "Please finish signing in."

    def __init__(self, location: str) -> None:
        super().__init__()
        self.location = location


class SignInRequired(AuthError):
    """Raised by pages that need a signed-in browser; answered with a redirect to sign in."""

    status = 303
    code = "sign_in_required"
    title = "Please sign in to continue."

    def __init__(self, return_to: str | None = None) -> None:
        super().__init__()
        self.return_to = return_to
