"""Second-factor errors."""

from __future__ import annotations

from auth_server.errors import AuthError


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
