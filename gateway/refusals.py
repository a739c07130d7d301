"""The gateway's refusals, in each route family's error format, with RFC 6750 `WWW-Authenticate`.

No refusal echoes the token, names a key id or carries a stack trace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.types import Send

from gateway.policy import Family
from obank.ob_errors import OBError, OBErrorCode, code_for_status, ob_error_body
from obank.problems import PROBLEM_MEDIA_TYPE, problem_body

REALM = "obank"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Content Too Large",
    429: "Too Many Requests",
}


@dataclass
class Refusal(Exception):
    """A request the gateway refuses; `reason` labels logs and metrics, `error` is the RFC 6750 code."""

    status: int
    reason: str
    description: str
    error: str | None = None  # invalid_request | invalid_token | insufficient_scope (RFC 6750 s3.1)
    scope: str | None = None
    retry_after_s: int | None = None
    ob_error_code: OBErrorCode | None = None
    ob_path: str | None = None  # the header or field an Open Banking error names

    def www_authenticate(self) -> bytes | None:
        if self.status not in (401, 403) or (self.status == 403 and self.error is None):
            return None
        parts = [f'realm="{REALM}"']
        if self.error is not None:
            parts.append(f'error="{self.error}"')
            parts.append('error_description="{}"'.format(self.description.replace('"', "'")))
        if self.scope:
            parts.append(f'scope="{self.scope}"')
        return ("Bearer " + ", ".join(parts)).encode()


def error_document(
    family: Family,
    status: int,
    code: str,
    title: str,
    detail: str,
    correlation_id: str,
    ob_error: OBError | None = None,
) -> tuple[bytes, bytes]:
    """Body and media type of an error the gateway writes itself, in `family`'s format."""
    if family is Family.OPEN_BANKING:
        error = ob_error or OBError(code_for_status(status), detail)
        return json.dumps(ob_error_body(status, [error], correlation_id)).encode(), b"application/json"
    if family is Family.OAUTH:
        # RFC 6749 s5.2; an overloaded server is `temporarily_unavailable` (s4.1.2.1), anything else a bad request.
        error_code = "temporarily_unavailable" if status == 429 else "invalid_request"
        return json.dumps({"error": error_code, "error_description": detail}).encode(), b"application/json"
    problem = problem_body(status, code, title, detail, correlation_id)
    return json.dumps(problem).encode(), PROBLEM_MEDIA_TYPE.encode()


def _body(refusal: Refusal, family: Family, correlation_id: str) -> tuple[bytes, bytes]:
    if family is Family.OPEN_BANKING:
        # UK OB R/W profile: a missing or invalid token gets 401 with no error response; 429 has none either.
        if (refusal.status == 401 and refusal.ob_error_code is None) or refusal.status == 429:
            return b"", b"application/json"
        code = refusal.ob_error_code or code_for_status(refusal.status)
        error = OBError(code, refusal.description, refusal.ob_path)
        return error_document(family, refusal.status, refusal.reason, "", refusal.description, correlation_id, error)
    title = _TITLES.get(refusal.status, "Error")
    return error_document(family, refusal.status, refusal.reason, title, refusal.description, correlation_id)


async def send_refusal(send: Send, refusal: Refusal, family: Family, correlation_id: str) -> None:
    """Write `refusal` as the whole response."""
    body, content_type = _body(refusal, family, correlation_id)
    headers = [(b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]
    if body:
        headers.append((b"content-type", content_type))
    challenge = refusal.www_authenticate()
    if challenge is not None:
        headers.append((b"www-authenticate", challenge))
    if refusal.retry_after_s is not None:
        headers.append((b"retry-after", str(refusal.retry_after_s).encode()))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
