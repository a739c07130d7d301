"""GET/POST /oauth2/userinfo (OpenID Connect Core s5.3), only over the certificate the token is bound to."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from auth_server.oauth.errors import NO_STORE, InvalidToken, OAuthErrorBody
from auth_server.oauth.forms import CertificateDep
from auth_server.oauth.server import ServerDep
from auth_server.oauth.tokens.models import TokenKind
from auth_server.oauth.userinfo.errors import InsufficientScope
from obank.certs import certificate_thumbprint_s256
from obank.database import SessionDep

USERINFO_PATH = "/oauth2/userinfo"

router = APIRouter(tags=["oauth"])


def _bearer(request: Request) -> str:
    """RFC 6750 s2.1; the scheme name is case-insensitive (RFC 9110 s11.1)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise InvalidToken("a bearer access token is required")
    return value.strip()


async def _userinfo(
    request: Request, session: SessionDep, server: ServerDep, certificate: CertificateDep
) -> JSONResponse:
    record = await server.tokens.find_token(session, _bearer(request))
    if record is None or record.kind is not TokenKind.ACCESS or not record.is_active(datetime.now(UTC)):
        raise InvalidToken("the access token is invalid, expired or revoked")
    if record.certificate_thumbprint is not None:
        # RFC 8705 s3: a certificate-bound token works only over a connection with that certificate.
        presented = None if certificate is None else certificate_thumbprint_s256(certificate)
        if presented is None or not hmac.compare_digest(presented, record.certificate_thumbprint):
            raise InvalidToken("the access token is bound to another certificate")
    if "openid" not in record.scopes:
        raise InsufficientScope("the access token was not granted the openid scope")
    body: dict[str, Any] = {"sub": record.subject}
    if record.consent_id is not None:
        body["openbanking_intent_id"] = record.consent_id
    return JSONResponse(body, headers=NO_STORE)


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": OAuthErrorBody, "description": "No valid access token (RFC 6750 s3.1 `invalid_token`)"},
    403: {"model": OAuthErrorBody, "description": "The token lacks the openid scope (`insufficient_scope`)"},
}
# OpenID Connect Core s5.3.1: GET and POST; one operation id each (OpenAPI wants them unique).
for _method in ("GET", "POST"):
    router.add_api_route(
        USERINFO_PATH,
        _userinfo,
        methods=[_method],
        summary="UserInfo",
        operation_id=f"userinfo_{_method.lower()}",
        responses=_ERRORS,
    )
