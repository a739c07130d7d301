"""Identity errors."""

from __future__ import annotations

from auth_server.errors import AuthError


class IdentityNotFound(AuthError):
    status = 404
    code = "identity_not_found"
    title = "No such login"


class UsernameTaken(AuthError):
    status = 409
    code = "username_taken"
    title = "This username is already in use"


class CustomerAlreadyHasLogin(AuthError):
    status = 409
    code = "customer_already_has_login"
    title = "This customer already has a login"


class InvalidIdentity(AuthError):
    status = 422
    code = "invalid_identity"
    title = "The login details are not valid"


class WeakPassword(AuthError):
    status = 422
    code = "weak_password"
    title = "Choose a stronger password"


class CurrentPasswordIncorrect(AuthError):
    status = 400
    code = "current_password_incorrect"
    title = "Your current password is not correct"


class PasswordsDoNotMatch(AuthError):
    status = 422
    code = "passwords_do_not_match"
    title = "The new passwords do not match"
