"""Open Banking errors and the one handler that writes every failure of the app as `OBErrorResponse1`.

Status codes as the Read/Write API Profile's table gives them: 400 for a malformed request or an unknown
resource id ("400 v/s 404"), 401 without a body, 403 for a resource of another TPP, 404 for a path no
endpoint serves, 405, 406, 415, and 500 with nothing of the failure in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from obank.correlation import current_correlation_id
from obank.log import get_logger
from obank.ob_errors import OBError, OBErrorCode, OBErrorResponse1, code_for_status, ob_error_body
from obank.principal import InvalidPrincipalAssertionError
from obank.problems import ProblemError

OB_MEDIA_TYPE = "application/json"
MAX_ERRORS = 20  # a body with a thousand bad fields gets the first twenty named

_log = get_logger("open_banking.errors")


class OpenBankingError(Exception):
    """A refused request in Open Banking terms; subclasses fix the status and the reason code."""

    status: ClassVar[int] = 400
    code: ClassVar[OBErrorCode] = OBErrorCode.FIELD_INVALID

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def errors(self) -> list[OBError]:
        return [OBError(self.code, self.message, self.path)]


class FieldInvalid(OpenBankingError):
    """A field or parameter holds a value the API does not accept."""


class FieldInvalidDate(OpenBankingError):
    """A date or date-time that is malformed, or not one the field takes (an expiry in the past)."""

    code = OBErrorCode.FIELD_INVALID_DATE


class HeaderInvalid(OpenBankingError):
    code = OBErrorCode.HEADER_INVALID


class ResourceNotFound(OpenBankingError):
    """An id that names no resource: 400, not 404 (R/W API Profile, "400 (Bad Request) v/s 404 (Not Found)")."""

    code = OBErrorCode.RESOURCE_NOT_FOUND


class Forbidden(OpenBankingError):
    """The token may not do this, or the resource belongs to another TPP (R/W API Profile, "403 (Forbidden)")."""

    status = 403
    code = OBErrorCode.TRANSACTION_FORBIDDEN


class ConsentOfAnotherTpp(Forbidden):
    """R/W API Profile, "403 (Forbidden)": a resource id of another TPP is refused, not reported unknown."""

    def __init__(self) -> None:
        super().__init__("the consent belongs to another TPP", "ConsentId")


class NotAcceptable(OpenBankingError):
    status = 406
    code = OBErrorCode.HEADER_INVALID

    def __init__(self) -> None:
        super().__init__("only application/json in UTF-8 can be returned", "Accept")


class UnsupportedMediaType(OpenBankingError):
    status = 415
    code = OBErrorCode.HEADER_INVALID

    def __init__(self) -> None:
        super().__init__("the request body must be application/json in UTF-8", "Content-Type")


def ob_error_response(status: int, errors: Sequence[OBError], headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = ob_error_body(status, errors, current_correlation_id())
    return JSONResponse(body, status_code=status, media_type=OB_MEDIA_TYPE, headers=headers)


def _json_path(parts: Iterable[Any]) -> str | None:
    """`("Data", "Permissions", 0)` as `Data.Permissions[0]`, the way OB names a field."""
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or None


def _validation_error(item: dict[str, Any]) -> OBError:
    location = tuple(item.get("loc", ()))
    kind = str(item.get("type", ""))
    message = str(item.get("msg") or "invalid value")
    where, rest = (str(location[0]), location[1:]) if location else ("body", ())
    if kind == "json_invalid":
        return OBError(OBErrorCode.RESOURCE_INVALID_FORMAT, "the request body is not valid JSON")
    if where == "header":
        name = str(rest[0]) if rest else None
        return OBError(OBErrorCode.HEADER_MISSING if kind == "missing" else OBErrorCode.HEADER_INVALID, message, name)
    path = _json_path(rest)
    if path is None and where in ("path", "query", "body"):
        message = f"{message} (in the {where})"
    if kind == "missing":
        code = OBErrorCode.FIELD_MISSING
    elif kind == "extra_forbidden":
        code = OBErrorCode.FIELD_UNEXPECTED
    elif kind.startswith(("date", "time")):
        code = OBErrorCode.FIELD_INVALID_DATE
    else:
        code = OBErrorCode.FIELD_INVALID
    return OBError(code, message, path)


async def render_ob_error(request: Request, exc: Exception) -> Response:
    """Any failure as the profile wants it; only the unexpected is logged, and nothing of it is answered."""
    if isinstance(exc, InvalidPrincipalAssertionError):
        # R/W API Profile, "401 (Unauthorized)": a missing or invalid token gets no error response.
        return Response(status_code=401)
    if isinstance(exc, OpenBankingError):
        return ob_error_response(exc.status, exc.errors())
    if isinstance(exc, RequestValidationError):
        errors = [_validation_error(dict(item)) for item in exc.errors()[:MAX_ERRORS]]
        return ob_error_response(400, errors or [OBError(OBErrorCode.FIELD_INVALID, "invalid request")])
    if isinstance(exc, StarletteHTTPException):
        if exc.status_code == 404:
            error = OBError(OBErrorCode.RESOURCE_NOT_FOUND, "no endpoint serves this path")
        elif exc.status_code == 405:
            error = OBError(OBErrorCode.NARRATIVE, f"{request.method} is not allowed on this resource")
        else:
            error = OBError(code_for_status(exc.status_code), str(exc.detail))
        return ob_error_response(exc.status_code, [error], headers=exc.headers)
    if isinstance(exc, ProblemError) and exc.status < 500:
        # A domain error of another context that no service translated: its status, in our words.
        error = OBError(code_for_status(exc.status), exc.title)
        return ob_error_response(exc.status, [error])
    _log.exception("unhandled_error", path=request.url.path)
    return ob_error_response(500, [OBError(OBErrorCode.UNEXPECTED_ERROR, "something went wrong; try again later")])


def install_ob_error_handler(app: FastAPI) -> None:
    """Make every error of `app`, unexpected ones included, leave as `OBErrorResponse1` (or a bare 401)."""
    for error in (
        OpenBankingError,
        InvalidPrincipalAssertionError,
        RequestValidationError,
        StarletteHTTPException,
        ProblemError,
        Exception,
    ):
        app.add_exception_handler(error, render_ob_error)


_DESCRIPTIONS = {
    400: "Bad request: a malformed request, or an id that names no resource",
    401: "Unauthorized: no valid access token (no body)",
    403: "Forbidden: the token may not do this, or the resource belongs to another TPP",
    404: "Not found: no endpoint serves this path",
    405: "Method not allowed",
    406: "Not acceptable: only application/json is produced",
    415: "Unsupported media type: the body must be application/json",
    500: "Internal server error",
}


def ob_error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting these statuses as `OBErrorResponse1` (401 as an empty response)."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        if status == 401:
            documented[status] = {"description": _DESCRIPTIONS[status]}
        else:
            documented[status] = {"model": OBErrorResponse1, "description": _DESCRIPTIONS[status]}
    return documented
