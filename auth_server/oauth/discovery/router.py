"""`/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server` (RFC 8414 s3)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from auth_server.oauth.config import OAUTH_METADATA_PATH, OPENID_CONFIGURATION_PATH
from auth_server.oauth.discovery.metadata import build_metadata
from auth_server.oauth.server import ServerDep

router = APIRouter(tags=["discovery"])
CACHE = {"Cache-Control": "public, max-age=300"}


@router.get(OPENID_CONFIGURATION_PATH, response_model=dict[str, Any])
async def openid_configuration(server: ServerDep) -> JSONResponse:
    """OpenID Connect Discovery 1.0 s4."""
    return JSONResponse(build_metadata(server.config, server.capabilities, openid=True), headers=CACHE)


@router.get(OAUTH_METADATA_PATH, response_model=dict[str, Any])
async def authorization_server_metadata(server: ServerDep) -> JSONResponse:
    """RFC 8414 s3."""
    return JSONResponse(build_metadata(server.config, server.capabilities, openid=False), headers=CACHE)
