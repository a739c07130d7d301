"""Second-factor errors."""

from __future__ import annotations

from auth_server.errors import AuthError
from auth_server.pages.errors import SignInIncomplete


class AlreadyEnrolled(AuthError):
    status = 409
    code = "mfa_already_enrolled"
    title = "Two-step verification is already set up for this login"


class NotEnrolled(AuthError):
    status = 409
    code = "mfa_not_enrolled"
    title = "Two-step verification is not set up for this login"


class EnrolmentCodeRejected(AuthError):
    status = 400
    code = "enrolment_code_rejected"
    title = "That code did not match. Enter the 6-digit code your app shows now."


class ReplacementExpired(AuthError):
    status = 400
    code = "totp_replacement_expired"
    title = "This page had expired, so here is a new QR code. Scan it and enter the code your new app shows."


class StrongSignInRequired(SignInIncomplete):
    """A change to the second factors needs password and code proven recently; answered with this redirect."""

    code = "strong_sign_in_required"
    title = "Please sign in again with your password and authentication code."
