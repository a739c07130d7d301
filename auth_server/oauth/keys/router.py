"""`jwks_uri`: the public signing keys, the retired ones included until their tokens have expired."""

from __future__ import annotations

import json

from fastapi import APIRouter
from fastapi.responses import Response

from auth_server.oauth.config import JWKS_PATH
from auth_server.oauth.server import ServerDep

router = APIRouter(tags=["keys"])
JWK_SET_MEDIA_TYPE = "application/jwk-set+json"  # RFC 7517 s8.5.1


JWK_SET_SCHEMA = {
    "type": "object",
    "required": ["keys"],
    "properties": {"keys": {"type": "array", "items": {"type": "object", "required": ["kty"]}}},
}


@router.get(
    JWKS_PATH,
    response_class=Response,
    responses={
        200: {"description": "The JWK Set (RFC 7517 s5)", "content": {JWK_SET_MEDIA_TYPE: {"schema": JWK_SET_SCHEMA}}}
    },
)
async def jwks(server: ServerDep) -> Response:
    """The JWK Set; short-cached, since a verifier meeting an unknown kid fetches it again."""
    body = json.dumps(await server.keys.jwks(), separators=(",", ":"))
    return Response(body, media_type=JWK_SET_MEDIA_TYPE, headers={"Cache-Control": "public, max-age=60"})
