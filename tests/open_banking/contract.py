"""Contract checks: what tests send and what obank answers, against the official UK Open Banking OpenAPI files.

The files are read from the steering repository's `shared/specs` beside this repository, never copied. Each
family's spec names its server as `/open-banking/v4.0/<family>`, our own prefix, so a request to obank maps
onto the spec's paths by its path alone. Outside the spec (a path or method no operation has) and for the
statuses an edge device may answer undeclared (R/W API Profile: "other standard HTTP status codes"), an error
body must still be an `OBErrorResponse1` of the spec's components.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound, ServerNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_schema_validator import OAS30Validator
from werkzeug.datastructures import Headers, ImmutableMultiDict

from obank.settings import PROJECT_ROOT

# The official files sit beside the checkout (`../shared/specs`); OBANK_SPECS_DIR names another place.
SPECS_DIR = Path(os.environ.get("OBANK_SPECS_DIR", PROJECT_ROOT.parent / "shared" / "specs")) / "uk-open-banking-v4.0"
SPEC_FILES = {
    "/open-banking/v4.0/aisp": "account-info-openapi.json",
    "/open-banking/v4.0/cbpii": "confirmation-funds-openapi.json",
    "/open-banking/v4.0/pisp": "payment-initiation-openapi.json",
}
# Statuses a gateway or the framework may answer where an operation declares none (the spec lists 400-500).
UNDECLARED_ERRORS = frozenset({404, 405, 406, 413, 415, 429, 500, 502, 503, 504})
INTERACTION_ID = "x-fapi-interaction-id"


class ContractViolation(AssertionError):
    """A request or response that the official OpenAPI files refuse."""


@cache
def _document(file_name: str) -> dict[str, Any]:
    path = SPECS_DIR / file_name
    if not path.is_file():
        raise FileNotFoundError(f"the UK Open Banking specs are read from {SPECS_DIR}; {file_name} is missing")
    document: dict[str, Any] = json.loads(path.read_text())
    return document


@cache
def _openapi(file_name: str) -> OpenAPI:
    return OpenAPI.from_dict(_document(file_name))


@cache
def _error_validator(file_name: str) -> OAS30Validator:
    schemas = _document(file_name)["components"]["schemas"]
    return OAS30Validator({"$ref": "#/components/schemas/OBErrorResponse1", "components": {"schemas": schemas}})


@dataclass
class _Request:
    """An httpx request as openapi-core reads one."""

    host_url: str
    path: str
    method: str
    parameters: RequestParameters
    body: bytes | None
    content_type: str

    @classmethod
    def of(cls, request: httpx.Request) -> _Request:
        headers = Headers([(name, value) for name, value in request.headers.multi_items()])
        return cls(
            host_url=f"{request.url.scheme}://{request.url.netloc.decode('ascii')}",
            path=request.url.path,
            method=request.method.lower(),
            parameters=RequestParameters(
                query=ImmutableMultiDict(request.url.params.multi_items()),
                header=headers,
                cookie=ImmutableMultiDict(),
            ),
            body=request.content or None,
            content_type=request.headers.get("content-type", "").lower(),
        )


@dataclass(frozen=True)
class _Response:
    status_code: int
    headers: Headers
    data: bytes | None
    content_type: str

    @classmethod
    def of(cls, response: httpx.Response) -> _Response:
        return cls(
            status_code=response.status_code,
            headers=Headers([(name, value) for name, value in response.headers.multi_items()]),
            data=response.content or None,
            content_type=response.headers.get("content-type", "").lower(),
        )


def spec_file_for(path: str) -> str | None:
    """The OpenAPI file of the family a path belongs to, if it is one the specs define."""
    for prefix, file_name in SPEC_FILES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return file_name
    return None


class Contract:
    """Checks one exchange with obank against the official specs; raises ContractViolation naming why."""

    def check(self, response: httpx.Response, *, request_conforms: bool = True) -> None:
        """`response` and the request behind it; `request_conforms=False` for requests a test breaks on purpose."""
        file_name = spec_file_for(response.request.url.path) or SPEC_FILES["/open-banking/v4.0/aisp"]
        request, answer = _Request.of(response.request), _Response.of(response)
        openapi = _openapi(file_name)
        with warnings.catch_warnings():
            # openapi-core cannot check OAuth 2.0 security schemes; the gateway's tests do.
            warnings.filterwarnings("ignore", "Unsupported scheme type", UserWarning)
            try:
                openapi.validate_response(request, answer)
            except (PathNotFound, OperationNotFound, ServerNotFound):
                self._check_outside_spec(response, file_name)
                return
            except ResponseNotFound:
                if response.status_code not in UNDECLARED_ERRORS:
                    raise ContractViolation(f"{response.status_code} is not an answer of this operation") from None
                self._check_outside_spec(response, file_name)
            except Exception as exc:
                raise ContractViolation(f"response refused by {file_name}: {_describe(exc)}") from exc
            self._check_error_body(response, file_name)
            if request_conforms:
                try:
                    openapi.validate_request(request)
                except Exception as exc:
                    raise ContractViolation(f"request refused by {file_name}: {_describe(exc)}") from exc

    def check_error_body(self, response: httpx.Response) -> None:
        """An error response of a path no spec defines (discovery, unknown families): OBErrorResponse1 all the same."""
        self._check_outside_spec(response, SPEC_FILES["/open-banking/v4.0/aisp"])

    def _check_outside_spec(self, response: httpx.Response, file_name: str) -> None:
        if response.status_code < 400:
            raise ContractViolation(f"{response.status_code} answered where the spec defines no such operation")
        if INTERACTION_ID not in response.headers:
            raise ContractViolation(f"{INTERACTION_ID} missing from a {response.status_code}")
        self._check_error_body(response, file_name)

    @staticmethod
    def _check_error_body(response: httpx.Response, file_name: str) -> None:
        """Any error body is an OBErrorResponse1 in JSON, including where the operation declares no content."""
        if response.status_code < 400 or not response.content:
            return
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise ContractViolation(f"an error body of type {media_type!r}, not application/json")
        errors = sorted(_error_validator(file_name).iter_errors(response.json()), key=str)
        if errors:
            raise ContractViolation("not an OBErrorResponse1: " + "; ".join(error.message for error in errors))


def _describe(exc: Exception) -> str:
    details = [str(exc)]
    cause = exc.__cause__
    for error in getattr(cause, "schema_errors", ()) or ():
        details.append(getattr(error, "message", str(error)))
    return " | ".join(details)


def spec_document(file_name: str) -> dict[str, Any]:
    """The parsed official OpenAPI file (read-only use)."""
    return _document(file_name)
