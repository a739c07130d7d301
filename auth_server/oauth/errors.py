"""OAuth errors: each carries its RFC 6749 s5.2 code and status; one handler renders them as error JSON."""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from obank.log import get_logger
from obank.principal import InvalidPrincipalAssertionError

_log = get_logger("auth_server.oauth.errors")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """A refused OAuth request; subclasses fix the error code and HTTP status."""

    error: ClassVar[str] = "invalid_request"
    status: ClassVar[int] = 400

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def headers(self) -> dict[str, str]:
        return dict(NO_STORE)


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """RFC 6749 s5.2: client authentication failed."""

    error = "invalid_client"
    status = 401


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"
    status = 403


class InvalidRequestUri(OAuthError):
    """RFC 9101 s7 / RFC 9126: the request_uri is unknown, expired, used, or another client's."""

    error = "invalid_request_uri"


class InvalidRequestObject(OAuthError):
    error = "invalid_request_object"


class RequestNotSupported(OAuthError):
    """OpenID Connect Core s3.1.2.6: request objects (`request`) are not accepted here."""

    error = "request_not_supported"


class InvalidAuthorizationDetails(OAuthError):
    """RFC 9396 s5."""

    error = "invalid_authorization_details"


class InvalidRedirectUri(OAuthError):
    """RFC 7591 s3.2.2."""

    error = "invalid_redirect_uri"


class InvalidClientMetadata(OAuthError):
    """RFC 7591 s3.2.2."""

    error = "invalid_client_metadata"


class UnsupportedTokenType(OAuthError):
    """RFC 7009 s2.2.1."""

    error = "unsupported_token_type"


class InvalidToken(OAuthError):
    """RFC 6750 s3.1: a bearer credential (initial or registration access token) is missing or invalid."""

    error = "invalid_token"
    status = 401

    def headers(self) -> dict[str, str]:
        return {**NO_STORE, "WWW-Authenticate": f'Bearer error="{self.error}"'}


class NotFound(OAuthError):
    error = "not_found"
    status = 404


class Forbidden(OAuthError):
    error = "forbidden"
    status = 403


class InvalidJWT(Exception):
    """A JWT that is malformed, signed with a refused algorithm or an unknown key, or whose signature fails.

    Not an OAuth error itself: each caller says what the JWT was (`invalid_client`, an inactive token).
    """


class OAuthErrorBody(BaseModel):
    """RFC 6749 s5.2 error response."""

    error: str
    error_description: str | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorBody, "description": "Invalid request (RFC 6749 s5.2)"},
    401: {"model": OAuthErrorBody, "description": "Client authentication failed"},
}


def error_response(error: str, description: str | None, status: int, headers: dict[str, str]) -> JSONResponse:
    body = OAuthErrorBody(error=error, error_description=description).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    """The one handler of the OAuth app: every error leaves as RFC 6749 error JSON, never cached."""
    if isinstance(exc, OAuthError):
        return error_response(exc.error, exc.description, exc.status, exc.headers())
    if isinstance(exc, InvalidPrincipalAssertionError):
        return error_response("unauthenticated", "a valid internal principal assertion is required", 401, NO_STORE)
    if isinstance(exc, RequestValidationError):
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()]
        return error_response("invalid_request", "; ".join(parts) or "invalid request", 400, NO_STORE)
    if isinstance(exc, StarletteHTTPException):
        error = {404: "not_found", 405: "invalid_request"}.get(exc.status_code, "invalid_request")
        headers = {**NO_STORE, **(exc.headers or {})}
        return error_response(error, str(exc.detail), exc.status_code, headers)
    _log.exception("unhandled_error", path=request.url.path)
    return error_response("server_error", None, 500, NO_STORE)
