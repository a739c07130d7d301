"""What a TPP developer reads first: which API versions and endpoints the bank serves, and their OpenAPI.

The discovery document follows the spirit of OB's ASPSP discovery (`Data.<API>[].Version`/`Links`); it
lists the endpoints that exist, read from the routes themselves, at the bank's public address.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict

from open_banking import schemas as envelope
from open_banking.dependencies import public_url
from open_banking.errors import ob_error_responses
from open_banking.families import SERVED_FAMILIES, VERSION, ApiFamily
from open_banking.negotiation import OBRoute

DISCOVERY_PATH = "/open-banking/discovery"


class DiscoveredApi(BaseModel):
    """One version of one API family: its OpenAPI document and its endpoints by operation id."""

    model_config = ConfigDict(extra="forbid")

    Version: str
    OpenAPI: str
    Links: dict[str, str]


class Discovery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    Data: dict[str, list[DiscoveredApi]]
    Links: envelope.Links
    Meta: envelope.Meta


def _endpoints(family: ApiFamily) -> list[APIRoute]:
    return [route for route in family.router.routes if isinstance(route, APIRoute)]


@cache
def family_openapi(family: ApiFamily) -> dict[str, Any]:
    """The family's OpenAPI document: paths relative to its prefix, which is its server, as OB writes them."""
    document = get_openapi(
        title=f"obank {family.title}",
        version=VERSION.removeprefix("v") + ".0",
        summary=f"The UK Open Banking {family.title} {VERSION} resources obank serves.",
        routes=family.router.routes,
        servers=[{"url": family.prefix}],
    )
    # FastAPI documents its own 422 for invalid requests; these APIs answer 400 with OBErrorResponse1.
    # A resource named by its path may not exist (or not be the TPP's): 404 with OBErrorResponse1 (U011).
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            if "{" in path and "404" not in responses and "400" in responses:
                responses["404"] = {**responses["400"], "description": "Not Found: no such resource for this TPP"}
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


router = APIRouter(route_class=OBRoute, tags=["Discovery"])


@router.get(
    DISCOVERY_PATH,
    operation_id="GetDiscovery",
    summary="The Open Banking API versions and endpoints this bank serves",
    response_model=Discovery,
    response_model_exclude_none=True,
    responses=ob_error_responses(406, 500),
)
async def discovery(request: Request) -> Discovery:
    data: dict[str, list[DiscoveredApi]] = {}
    for family in SERVED_FAMILIES:
        endpoints = _endpoints(family)
        if not endpoints:
            continue
        links = {
            route.operation_id or route.name: public_url(request, family.prefix + route.path) for route in endpoints
        }
        openapi = public_url(request, family.openapi_path)
        data[family.discovery_key] = [DiscoveredApi(Version=VERSION, OpenAPI=openapi, Links=links)]
    return Discovery(Data=data, Links=envelope.Links(Self=public_url(request, DISCOVERY_PATH)), Meta=envelope.Meta())


def _openapi_route(family: ApiFamily) -> None:
    async def openapi() -> JSONResponse:
        return JSONResponse(family_openapi(family))

    router.add_api_route(
        family.openapi_path,
        openapi,
        methods=["GET"],
        operation_id=f"GetOpenAPI{family.name.upper()}",
        summary=f"The OpenAPI document of the {family.title}",
        include_in_schema=False,
    )


for _family in SERVED_FAMILIES:
    _openapi_route(_family)
