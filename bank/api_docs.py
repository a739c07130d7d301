"""The public API families' OpenAPI documents and their documentation page, served by the gateway without a token.

The composition root knows every app, so it builds one document per family from the apps' own routes: the
first-party API (`/api/v1`), the staff API (`/admin/v1`) and the authorization server's endpoints, each with
the public paths, the errors the family answers in (the gateway's refusals included) and its security
schemes. The Open Banking families serve their own documents (`open_banking.discovery`); the index lists
them too. The page is Swagger UI from a package's assets on our own origin, started by a script file, under
the pages' CSP with only `script-src 'self'` and `connect-src 'self'` added.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from html import escape
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from auth_server.oauth.errors import OAuthErrorBody
from core_banking.app import create_app as create_core_banking_app
from gateway.policy import policy_for
from gateway.routing import Route
from obank.browser.headers import CONTENT_SECURITY_POLICY, PageSecurityHeaders
from obank.problems import PROBLEM_MEDIA_TYPE, Problem, http_problem, install_problem_handler
from obank.runtime import Platform
from open_banking.families import SERVED_FAMILIES

OPENAPI_VERSION = "3.1.0"
INDEX_PATH = "/openapi/"
DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
SWAGGER_ASSETS = Path(fastapi_offline.__file__).parent / "static"
OWN_ASSETS = Path(__file__).parent / "static" / "docs"
# The pages' strict policy, with scripts and fetches from this origin only (Swagger UI loads the document).
DOCS_CSP = CONTENT_SECURITY_POLICY.replace(
    "default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';"
)
PROBLEM_REF = "#/components/schemas/Problem"
OAUTH_ERROR_REF = "#/components/schemas/OAuthErrorBody"
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
_PARAMETER = re.compile(r"\{[^}/]+\}")
_DEFAULT_VALIDATION = "#/components/schemas/HTTPValidationError"
_METHOD_SUFFIX = re.compile(r"_(get|put|post|delete|patch)\Z")


@dataclass(frozen=True, slots=True)
class DocumentedFamily:
    """One API family in the index: its key, title and where its document is served."""

    family: str
    title: str
    url: str


# Statuses every operation of a token-holding family can get from the gateway before its app runs.
_GATEWAY_REFUSALS = {
    400: "Malformed request: an access token in the query, or more than one Authorization header",
    401: "No valid access token for this API (RFC 6750); `WWW-Authenticate` says why",
    403: "The token lacks the scope, subject or staff role this operation needs",
    429: "Too many requests; `Retry-After` says when to try again",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}}}
_TOO_LARGE = "The request body is larger than the gateway accepts"
_INVALID = "Invalid request: a parameter or the body fails validation, or carries a control character"
_NOT_FOUND = "No such resource"


def _problem(description: str, headers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
    }
    if headers:
        response["headers"] = dict(headers)
    return response


def _oauth_error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": OAUTH_ERROR_REF}}}}


def _operations(document: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in _METHODS:
                yield path, method, operation


def _refs(value: Any) -> Iterator[str]:
    """Every `$ref` in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item
            else:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _rename_refs(value: Any, renames: Mapping[str, str]) -> Any:
    """`value` with schema references renamed (`#/components/schemas/<old>` → `<new>`)."""
    if isinstance(value, dict):
        renamed = {}
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str) and item.startswith("#/components/schemas/"):
                name = item.removeprefix("#/components/schemas/")
                renamed[key] = "#/components/schemas/" + renames.get(name, name)
            else:
                renamed[key] = _rename_refs(item, renames)
        return renamed
    if isinstance(value, list):
        return [_rename_refs(item, renames) for item in value]
    return value


def _used_schemas(paths: Mapping[str, Any], schemas: Mapping[str, Any]) -> set[str]:
    """The schema components `paths` reach, transitively."""
    pending = [ref.removeprefix("#/components/schemas/") for ref in _refs(paths)]
    used: set[str] = set()
    while pending:
        name = pending.pop()
        if name in used or name not in schemas:
            continue
        used.add(name)
        pending.extend(ref.removeprefix("#/components/schemas/") for ref in _refs(schemas[name]))
    return used


@dataclass
class _Part:
    """The paths one app contributes to a document, with the schema components they use."""

    app: str
    paths: dict[str, Any]
    schemas: dict[str, Any]
    tags: list[dict[str, Any]]


def merge(parts: Sequence[_Part]) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Paths, schema components and tags of `parts` in one document.

    Two apps' components of one name that differ are both renamed `<app>.<name>` (deterministic: by the
    apps' names, not by their order); renaming may make schemas that refer to them differ in turn, so
    this repeats until nothing collides.
    """
    renames: dict[str, dict[str, str]] = {part.app: {} for part in parts}
    while True:
        defined: dict[str, dict[str, str]] = {}
        for part in parts:
            mapping = renames[part.app]
            for name, schema in part.schemas.items():
                final = mapping.get(name, name)
                text = json.dumps(_rename_refs(schema, mapping), sort_keys=True)
                defined.setdefault(final, {})[part.app] = text
        colliding = {name: apps for name, apps in defined.items() if len(set(apps.values())) > 1}
        if not colliding:
            break
        for name, apps in colliding.items():
            for app in apps:
                # A colliding name is an original one: renamed names carry their app and cannot collide.
                renames[app][name] = f"{app}.{name}"
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    tags: dict[str, dict[str, Any]] = {}
    for part in sorted(parts, key=lambda part: part.app):
        mapping = renames[part.app]
        for path, item in part.paths.items():
            paths.setdefault(path, {}).update(_rename_refs(item, mapping))
        for name, schema in part.schemas.items():
            schemas[mapping.get(name, name)] = _rename_refs(schema, mapping)
        for tag in part.tags:
            tags.setdefault(tag["name"], tag)
    return dict(sorted(paths.items())), dict(sorted(schemas.items())), list(tags.values())


def _part(app: str, source: FastAPI, wanted: Callable[[str], bool]) -> _Part:
    document = copy.deepcopy(source.openapi())
    paths = {path: item for path, item in document.get("paths", {}).items() if wanted(path)}
    schemas = document.get("components", {}).get("schemas", {})
    used = _used_schemas(paths, schemas)
    return _Part(app, paths, {name: schemas[name] for name in sorted(used)}, document.get("tags", []))


def _example_path(path: str) -> str:
    return _PARAMETER.sub("x", path)


def _unique_operation_ids(document: dict[str, Any]) -> None:
    """FastAPI names a route's methods alike (GET and POST of one function, suffixed by whichever method came
    first); an operation id must be unique, so each operation of a shared id is named by its own method."""
    sharing: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for _, method, operation in _operations(document):
        if "operationId" in operation:
            sharing.setdefault(operation["operationId"], []).append((method, operation))
    for operation_id, operations in sharing.items():
        if len(operations) > 1:
            for method, operation in operations:
                operation["operationId"] = _METHOD_SUFFIX.sub("", operation_id) + "_" + method


def _drop_unused_schemas(document: dict[str, Any]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    used = _used_schemas(document.get("paths", {}), schemas)
    for name in [name for name in schemas if name not in used]:
        del schemas[name]


def _problem_family_errors(document: dict[str, Any], *, admin: bool) -> None:
    """Every operation's errors as problem details: FastAPI's own validation error replaced (the apps answer
    422 problems), the gateway's refusals, 404 where the path names a resource, 413 where there is a body."""
    for path, method, operation in _operations(document):
        responses: dict[str, Any] = operation.setdefault("responses", {})
        for status, response in list(responses.items()):
            if not status.isdigit() or int(status) < 400:
                continue
            content = response.get("content", {})
            refs = set(_refs(content))
            if not refs or refs <= {PROBLEM_REF, _DEFAULT_VALIDATION}:
                description = _INVALID if status == "422" else response.get("description", "")
                responses[status] = _problem(description, response.get("headers"))
        # Through the gateway a 401 is its refusal of the token (the apps' own is of the internal assertion).
        responses.pop("401", None)
        for refused, description in _GATEWAY_REFUSALS.items():
            if str(refused) not in responses:
                responses[str(refused)] = _problem(description, _RETRY_AFTER if refused == 429 else None)
        responses.setdefault("422", _problem(_INVALID))
        if "{" in path:
            responses.setdefault("404", _problem(_NOT_FOUND))
        if "requestBody" in operation:
            responses.setdefault("413", _problem(_TOO_LARGE))
        operation["responses"] = dict(sorted(responses.items()))
        policy = policy_for(method.upper(), _example_path(path))
        if policy.needs_token:
            operation["security"] = (
                [{"oauth2": sorted(policy.scopes)}] if not admin else [{"oauth2": [], "mutualTLS": []}]
            )
            if policy.roles:
                operation["x-obank-staff-roles"] = sorted(policy.roles)
    _drop_unused_schemas(document)


def _security_schemes(base_url: str) -> dict[str, Any]:
    return {
        "oauth2": {
            "type": "oauth2",
            "description": (
                "Access tokens from this bank's authorization server (FAPI 2.0): pushed authorization requests"
                " (RFC 9126) with PKCE, sent as `Authorization: Bearer`. Staff tokens are bound to the device's"
                " client certificate (RFC 8705) and need strong authentication."
            ),
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": f"{base_url}/oauth2/authorize",
                    "tokenUrl": f"{base_url}/oauth2/token",
                    "refreshUrl": f"{base_url}/oauth2/token",
                    "scopes": {
                        "openid": "The customer's identity, sessions, consents and notifications",
                        "accounts": "Read the customer's accounts, balances, transactions and payees",
                        "payments": "Move money and manage payees and scheduled payments",
                    },
                }
            },
        },
        "mutualTLS": {
            "type": "mutualTLS",
            "description": "The client certificate the access token is bound to (RFC 8705 s3), on the same connection",
        },
    }


_FIRST_PARTY_PREFIX = "/api/v1/"
_ADMIN_PREFIX = "/admin/v1/"
_OAUTH_PAGES = ("/account/",)


def _wants_first_party(path: str) -> bool:
    return path.startswith(_FIRST_PARTY_PREFIX)


def _wants_admin(path: str) -> bool:
    return path.startswith(_ADMIN_PREFIX)


def _wants_oauth(path: str) -> bool:
    return not path.startswith((_FIRST_PARTY_PREFIX, _ADMIN_PREFIX, *_OAUTH_PAGES))


def _form(required: Sequence[str], *optional: str) -> dict[str, Any]:
    """An `application/x-www-form-urlencoded` body of string fields (the endpoints read their forms themselves)."""
    fields = sorted({*required, *optional, *_CLIENT_AUTHENTICATION})
    schema = {
        "type": "object",
        "properties": {name: {"type": "string"} for name in fields},
        "required": list(required),
    }
    return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": schema}}}


# RFC 7521/7523 client assertions (`private_key_jwt`) or, with mutual TLS, only `client_id` (RFC 8705 s2).
_CLIENT_AUTHENTICATION = ("client_id", "client_assertion_type", "client_assertion")
_FORMS = {
    "/oauth2/par": _form(
        ("response_type", "redirect_uri", "code_challenge", "code_challenge_method"),
        "scope",
        "state",
        "nonce",
        "acr_values",
        "prompt",
        "max_age",
        "authorization_details",
    ),
    "/oauth2/token": _form(("grant_type",), "code", "redirect_uri", "code_verifier", "refresh_token", "scope"),
    "/oauth2/introspect": _form(("token",), "token_type_hint"),
    "/oauth2/revoke": _form(("token",), "token_type_hint"),
}


# The authorization endpoint is a page for people (hidden from the app's schema); documented here as it behaves.
_AUTHORIZE = {
    "get": {
        "operationId": "authorize",
        "summary": "Authorization endpoint (RFC 6749 s3.1, pushed requests only: RFC 9126)",
        "description": (
            "The browser arrives with the `request_uri` of a pushed authorization request; sign-in and consent"
            " pages follow, and the browser returns to the client's redirect URI with `code`, `state` and `iss`"
            " (RFC 9207) or an error. Before the client and redirect URI are verified, errors are a page."
        ),
        "tags": ["authorization"],
        "parameters": [
            {"name": "client_id", "in": "query", "required": True, "schema": {"type": "string"}},
            {"name": "request_uri", "in": "query", "required": True, "schema": {"type": "string"}},
        ],
        "responses": {
            "200": {"description": "The consent page", "content": {"text/html": {"schema": {"type": "string"}}}},
            "303": {"description": "To sign-in, or back to the client's redirect URI with the outcome"},
            "400": {
                "description": (
                    "An error page: the request names no known client or pushed request; or an RFC 6749 error"
                    " (JSON) from the edge, for a query with control characters"
                ),
                "content": {
                    "text/html": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"$ref": OAUTH_ERROR_REF}},
                },
            },
        },
    }
}


def _oauth_errors(document: dict[str, Any]) -> None:
    """RFC 6749 errors on every OAuth operation: 400 for invalid requests (where FastAPI wrote its 422),
    and the gateway's own 413 and 429, also as RFC 6749 errors."""
    for _, _, operation in _operations(document):
        responses: dict[str, Any] = operation.setdefault("responses", {})
        if responses.pop("422", None) is not None or "400" not in responses:
            responses.setdefault("400", _oauth_error("Invalid request (RFC 6749 s5.2)"))
        responses.setdefault("429", {**_oauth_error(_GATEWAY_REFUSALS[429]), "headers": _RETRY_AFTER})
        if "requestBody" in operation:
            responses.setdefault("413", _oauth_error(_TOO_LARGE))
        operation["responses"] = dict(sorted(responses.items()))
    _drop_unused_schemas(document)


def _oauth_security(document: dict[str, Any]) -> None:
    schemes = document["components"].setdefault("securitySchemes", {})
    schemes["mutualTLS"] = {
        "type": "mutualTLS",
        "description": "Client authentication by certificate (`tls_client_auth`, RFC 8705 s2); otherwise"
        " `private_key_jwt` (a `client_assertion` in the form)",
    }
    schemes["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token (userinfo) or an initial or registration access token (RFC 7591/7592)",
    }
    for path, _, operation in _operations(document):
        if path in _FORMS and "requestBody" not in operation:
            operation["requestBody"] = copy.deepcopy(_FORMS[path])
        if path.startswith(("/oauth2/token", "/oauth2/par", "/oauth2/introspect", "/oauth2/revoke")):
            operation["security"] = [{"mutualTLS": []}, {}]
        elif path.startswith(("/oauth2/userinfo", "/connect/register")):
            operation["security"] = [{"bearer": []}]


class ApiDocuments:
    """The families' documents, built from the apps on first use and kept for the life of the process."""

    def __init__(self, apps: Mapping[str, FastAPI], base_url: str) -> None:
        self.apps = dict(sorted(apps.items()))
        self.base_url = base_url

    def _document(self, title: str, description: str, parts: Sequence[_Part]) -> dict[str, Any]:
        paths, schemas, tags = merge(parts)
        return {
            "openapi": OPENAPI_VERSION,
            "info": {"title": title, "version": "1", "description": description},
            "servers": [{"url": self.base_url}],
            "paths": paths,
            "components": {"schemas": schemas},
            "tags": tags,
        }

    def _problem_family(
        self, title: str, description: str, wanted: Callable[[str], bool], *, admin: bool
    ) -> dict[str, Any]:
        parts = [_part(name, app, wanted) for name, app in self.apps.items()]
        document = self._document(title, description, [part for part in parts if part.paths])
        document["components"]["schemas"]["Problem"] = Problem.model_json_schema()
        document["components"]["securitySchemes"] = _security_schemes(self.base_url)
        _problem_family_errors(document, admin=admin)
        _unique_operation_ids(document)
        return document

    @cached_property
    def api_v1(self) -> dict[str, Any]:
        return self._problem_family(
            "obank API v1 (the bank's own apps)",
            "The first-party API of the customer app: accounts, payments, payees, scheduled payments, consents,"
            " sessions, notifications and secure messages. Errors are RFC 9457 problem details.",
            _wants_first_party,
            admin=False,
        )

    @cached_property
    def admin_v1(self) -> dict[str, Any]:
        return self._problem_family(
            "obank admin API v1 (staff)",
            "The staff console's API: customers and accounts, approvals, jobs, webhooks, secure messages,"
            " fraud, audit investigations, logins and grants, OAuth clients. Staff tokens are bound to the"
            " device's certificate and carry roles. Errors are RFC 9457 problem details.",
            _wants_admin,
            admin=True,
        )

    @cached_property
    def oauth(self) -> dict[str, Any]:
        parts = [_part(name, app, _wants_oauth) for name, app in self.apps.items() if name == "auth_server"]
        document = self._document(
            "obank authorization server (OAuth 2.0, OpenID Connect, FAPI 2.0)",
            "Pushed authorization requests, the authorization endpoint, tokens, revocation, introspection,"
            " userinfo, the JWKS, dynamic client registration and the server's metadata. Errors are RFC 6749"
            " error responses.",
            parts,
        )
        document["paths"]["/oauth2/authorize"] = copy.deepcopy(_AUTHORIZE)
        schemas = document["components"]["schemas"]
        schemas["OAuthErrorBody"] = OAuthErrorBody.model_json_schema()
        schemas["Problem"] = Problem.model_json_schema()
        _oauth_security(document)
        _oauth_errors(document)
        _unique_operation_ids(document)
        document["paths"] = dict(sorted(document["paths"].items()))
        return document

    def documents(self) -> dict[str, Callable[[], dict[str, Any]]]:
        """The documents built here, by family key."""
        return {"api-v1": lambda: self.api_v1, "admin-v1": lambda: self.admin_v1, "oauth": lambda: self.oauth}

    @cached_property
    def index(self) -> list[dict[str, str]]:
        own = [
            DocumentedFamily("api-v1", "obank API v1 (customers, first-party apps)", "/openapi/api-v1.json"),
            DocumentedFamily("admin-v1", "obank admin API v1 (staff)", "/openapi/admin-v1.json"),
            DocumentedFamily("oauth", "Authorization server (OAuth 2.0 / FAPI 2.0)", "/openapi/oauth.json"),
        ]
        open_banking = [
            DocumentedFamily(f"open-banking-{family.name}", f"UK Open Banking {family.title}", family.openapi_path)
            for family in SERVED_FAMILIES
        ]
        return [{"family": f.family, "title": f.title, "url": f.url} for f in (*own, *open_banking)]


def _docs_page(index: list[dict[str, str]], current: dict[str, str]) -> str:
    links = "\n".join(
        f'<li><a href="{DOCS_PATH}/{escape(entry["family"])}"'
        + (' aria-current="page"' if entry is current else "")
        + f">{escape(entry['title'])}</a></li>"
        for entry in index
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>obank API documentation: {escape(current["title"])}</title>
<link rel="icon" href="{ASSETS_PATH}/swagger-ui/favicon.png">
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui/swagger-ui.css">
<link rel="stylesheet" href="{ASSETS_PATH}/docs.css">
</head>
<body>
<header class="docs-header">
<h1>obank API documentation</h1>
<nav aria-label="API families"><ul>
{links}
</ul></nav>
<p>The OpenAPI documents: <a href="{INDEX_PATH}">{INDEX_PATH}</a></p>
</header>
<main id="swagger-ui" data-url="{escape(current["url"])}"></main>
<script src="{ASSETS_PATH}/swagger-ui/swagger-ui-bundle.js"></script>
<script src="{ASSETS_PATH}/init.js"></script>
</body>
</html>
"""


def create_app(documents: ApiDocuments) -> FastAPI:
    """The documents, their index and the documentation page (public: the gateway asks no token)."""
    app = FastAPI(title="obank API documentation", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.documents = documents
    by_family = {entry["family"]: entry for entry in documents.index}
    builders = documents.documents()

    @app.get("/openapi.json", include_in_schema=False)
    @app.get("/openapi", include_in_schema=False)
    @app.get(INDEX_PATH, include_in_schema=False)
    async def index() -> JSONResponse:
        return JSONResponse(documents.index)

    @app.get("/openapi/{family}.json", include_in_schema=False)
    async def document(family: str) -> Response:
        build = builders.get(family)
        if build is None:
            entry = by_family.get(family)
            if entry is None:
                return _not_found()
            return RedirectResponse(entry["url"], status_code=307)
        return JSONResponse(build())

    @app.get(DOCS_PATH, include_in_schema=False)
    @app.get(DOCS_PATH + "/", include_in_schema=False)
    async def docs_home() -> HTMLResponse:
        return _page(documents.index, documents.index[0])

    @app.get(DOCS_PATH + "/{family}", include_in_schema=False)
    async def docs_family(family: str) -> Response:
        entry = by_family.get(family)
        return _not_found() if entry is None else _page(documents.index, entry)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> RedirectResponse:
        return RedirectResponse(DOCS_PATH, status_code=308)

    # Longest first: the package's Swagger UI files, then our own script and style.
    app.mount(ASSETS_PATH + "/swagger-ui", StaticFiles(directory=SWAGGER_ASSETS), name="swagger-ui")
    app.mount(ASSETS_PATH, StaticFiles(directory=OWN_ASSETS), name="docs-assets")
    install_problem_handler(app)
    app.add_middleware(PageSecurityHeaders)
    return app


def _page(index: list[dict[str, str]], current: dict[str, str]) -> HTMLResponse:
    return HTMLResponse(_docs_page(index, current), headers={"content-security-policy": DOCS_CSP})


def _not_found() -> Response:
    return http_problem(404, "GET")


def gateway_routes(
    platform: Platform, core_banking: ASGIApp, oauth: FastAPI, notifications: FastAPI, fraud: FastAPI, audit: FastAPI
) -> list[Route]:
    """The gateway's routes to the documentation app over these apps (core banking's routes read from an app of
    its own when the gateway reaches it over HTTP)."""
    if not isinstance(core_banking, FastAPI):
        core_banking = create_core_banking_app(platform)
    apps = {"core_banking": core_banking, "auth_server": oauth, "notifications": notifications, "fraud": fraud}
    app = create_app(ApiDocuments({**apps, "audit": audit}, platform.settings.public_base_url()))
    return [
        Route("/openapi", app),
        Route("/openapi.json", app, exact=True),
        Route(DOCS_PATH, app),
        Route("/redoc", app, exact=True),
    ]
