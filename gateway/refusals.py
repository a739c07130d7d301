"""The gateway's refusals, in each route family's error format, with RFC 6750 `WWW-Authenticate`.

No refusal echoes the token, names a key id or carries a stack trace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.types import Send

from gateway.policy import Family
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
_OB_CODES = {400: "400 BadRequest", 403: "403 Forbidden", 404: "404 NotFound", 413: "413 PayloadTooLarge"}


@dataclass
class Refusal(Exception):
    """A request the gateway refuses; `reason` labels logs and metrics, `error` is the RFC 6750 code."""

    status: int
    reason: str
    description: str
    error: str | None = None  # invalid_request | invalid_token | insufficient_scope (RFC 6750 s3.1)
    scope: str | None = None
    retry_after_s: int | None = None
    ob_error_code: str | None = None

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


def _body(refusal: Refusal, family: Family, correlation_id: str) -> tuple[bytes, bytes]:
    if family is Family.OPEN_BANKING:
        # UK OB R/W profile: a missing or invalid token gets 401 with no error response; others OBErrorResponse1.
        if (refusal.status == 401 and refusal.ob_error_code is None) or refusal.status == 429:
            return b"", b"application/json"
        error = {"ErrorCode": refusal.ob_error_code or "AG01", "Message": refusal.description}
        code = _OB_CODES.get(refusal.status, f"{refusal.status} {_TITLES.get(refusal.status, 'Error')}")
        document = {"Id": correlation_id, "Code": code, "Message": refusal.description, "Errors": [error]}
        return json.dumps(document).encode(), b"application/json"
    title = _TITLES.get(refusal.status, "Error")
    problem = problem_body(refusal.status, refusal.reason, title, refusal.description, correlation_id)
    return json.dumps(problem).encode(), PROBLEM_MEDIA_TYPE.encode()


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
