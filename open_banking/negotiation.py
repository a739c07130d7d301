"""Media types as the R/W API Profile states them ("Request Headers"): JSON in UTF-8 each way, or 406 / 415.

Checked by the route class, once a route matched and before its body is read: an unknown path stays a 404
and a wrong method a 405, whatever the caller accepts or sends.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from open_banking.errors import NotAcceptable, UnsupportedMediaType

JSON = "application/json"
_JSON_RANGES = frozenset({JSON, "application/*", "*/*"})
_UTF8 = frozenset({"utf-8", "utf8"})
_QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")  # RFC 9110 s12.4.2
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def _media_range(part: str) -> tuple[str, dict[str, str]]:
    media, *raw_parameters = (piece.strip() for piece in part.split(";"))
    parameters = {}
    for raw in raw_parameters:
        name, _, value = raw.partition("=")
        parameters[name.strip().lower()] = value.strip().strip('"').lower()
    return media.lower(), parameters


def accepts_json(accept: str | None) -> bool:
    """Whether an `Accept` header admits JSON in UTF-8; no header means the default, JSON."""
    if accept is None or not accept.strip():
        return True
    for part in accept.split(","):
        media, parameters = _media_range(part)
        quality = parameters.get("q", "1")
        if not _QVALUE.fullmatch(quality) or float(quality) == 0:
            continue
        if parameters.get("charset", "utf-8") not in _UTF8:
            continue
        if media in _JSON_RANGES:
            return True
    return False


def is_json_body(content_type: str | None) -> bool:
    """Whether a `Content-Type` declares JSON in UTF-8 (a charset parameter may say so, or be absent)."""
    if not content_type:
        return False
    media, parameters = _media_range(content_type)
    return media == JSON and parameters.get("charset", "utf-8") in _UTF8


def negotiate(request: Request) -> None:
    """Refuse a request whose answer could not be JSON (406) or whose body is not JSON (415)."""
    if not accepts_json(request.headers.get("accept")):
        raise NotAcceptable
    if request.method in _WITH_BODY and not is_json_body(request.headers.get("content-type")):
        raise UnsupportedMediaType


class OBRoute(APIRoute):
    """A route of the Open Banking APIs: media types negotiated before anything else is read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def negotiated(request: Request) -> Response:
            negotiate(request)
            return await handler(request)

        return negotiated
