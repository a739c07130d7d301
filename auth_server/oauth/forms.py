"""Request plumbing for the back-channel endpoints: strict form parsing and the connection's certificate."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from cryptography import x509
from fastapi import Depends, Request

from auth_server.oauth.errors import InvalidRequest
from obank.server import client_certificate

MAX_FORM_BYTES = 64 * 1024
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


async def read_form(request: Request) -> dict[str, str]:
    """The form body; RFC 6749 s3.1: repeated parameters refused, parameters without a value omitted."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise InvalidRequest(f"the request body must be {FORM_MEDIA_TYPE}")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidRequest("the request body is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest("the form body is not valid UTF-8 form encoding") from exc
    form: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if name in seen:
            raise InvalidRequest(f"parameter {name} is repeated (RFC 6749 s3.1)")
        seen.add(name)
        if value != "":
            form[name] = value
    return form


async def _certificate(request: Request) -> x509.Certificate | None:  # async: no worker thread per request
    return client_certificate(request.scope)


FormDep = Annotated[dict[str, str], Depends(read_form)]
CertificateDep = Annotated[x509.Certificate | None, Depends(_certificate)]
