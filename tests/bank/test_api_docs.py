"""The API families' OpenAPI documents and the documentation page, as the gateway serves them without a token."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from openapi_spec_validator import validate
from starlette.types import ASGIApp

from bank import api_docs
from bank.app import create_app
from gateway.policy import METHOD_NOT_ALLOWED, UNMATCHED, policy_for
from obank.runtime import build_platform
from obank.server import bind_socket
from obank.settings import Settings
from tests.auth_server.oauth.conftest import shared_database_url
from tests.conftest import TEST_KEYS

__all__ = ["shared_database_url"]

PROBLEM_FAMILIES = ("api-v1", "admin-v1")
GATEWAY_ERRORS = ("400", "401", "403", "422", "429")
OAUTH_ENDPOINTS = (
    ("post", "/oauth2/par"),
    ("get", "/oauth2/authorize"),
    ("post", "/oauth2/token"),
    ("post", "/oauth2/revoke"),
    ("post", "/oauth2/introspect"),
    ("get", "/oauth2/userinfo"),
    ("get", "/oauth2/jwks"),
    ("post", "/connect/register"),
    ("get", "/.well-known/openid-configuration"),
    ("get", "/.well-known/oauth-authorization-server"),
)
METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, shared_database_url: str) -> ASGIApp:
    """The composed app (Open Banking's PISP document is signed with the bank's key, kept in the database)."""
    directory = tmp_path_factory.mktemp("api-docs")
    settings = Settings(
        env="test",
        data_dir=directory / "var",
        certs_dir=directory / "certs",
        database_url=shared_database_url,
        encryption_keys=json.dumps(TEST_KEYS),
        active_encryption_key_id="test-1",
        issuer="https://bank.example",
    )
    return create_app(build_platform(settings))


@pytest.fixture(scope="module")
async def http(gateway: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="https://bank.example") as client:
        yield client


@pytest.fixture(scope="module")
async def documents(http: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """Every document the index lists, fetched through the gateway without a token, by family."""
    index = await http.get("/openapi/")
    assert index.status_code == 200, index.text
    fetched = {}
    for entry in index.json():
        response = await http.get(entry["url"])
        assert response.status_code == 200, (entry, response.text)
        fetched[entry["family"]] = response.json()
    return fetched


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from [item] if key == "$ref" else _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


async def test_the_index_lists_every_family_and_openapi_json_is_the_index(http: httpx.AsyncClient) -> None:
    index = (await http.get("/openapi/")).json()
    assert [entry["family"] for entry in index] == [
        "api-v1",
        "admin-v1",
        "oauth",
        "open-banking-aisp",
        "open-banking-pisp",
        "open-banking-cbpii",
        "open-banking-events",
    ]
    assert all(set(entry) == {"family", "title", "url"} and entry["title"] for entry in index)
    assert (await http.get("/openapi.json")).json() == index
    assert (await http.get("/openapi")).json() == index
    unknown = await http.get("/openapi/nothing.json")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


def test_every_document_is_valid_openapi_3_1_and_every_reference_resolves(
    documents: dict[str, dict[str, Any]],
) -> None:
    for family, document in documents.items():
        validate(document)
        assert document["openapi"].startswith("3.1"), family
        schemas = document.get("components", {}).get("schemas", {})
        for ref in _refs(document):
            assert ref.startswith("#/components/schemas/"), (family, ref)
            assert ref.removeprefix("#/components/schemas/") in schemas, (family, ref)
        assert "HTTPValidationError" not in schemas, family  # no app answers FastAPI's own 422 body
        ids = [operation["operationId"] for _, _, operation in _operations(document)]
        assert len(ids) == len(set(ids)), family


def test_first_party_and_admin_operations_document_their_problems(documents: dict[str, dict[str, Any]]) -> None:
    for family in PROBLEM_FAMILIES:
        document = documents[family]
        assert document["servers"] == [{"url": "https://bank.example"}]
        assert set(document["components"]["securitySchemes"]) == {"oauth2", "mutualTLS"}
        for path, method, operation in _operations(document):
            responses = operation["responses"]
            wanted = [
                *GATEWAY_ERRORS,
                *(["404"] if "{" in path else []),
                *(["413"] if "requestBody" in operation else []),
            ]
            for status in wanted:
                assert status in responses, (family, method, path, status)
            for status, response in responses.items():
                if int(status) >= 400:
                    content = response["content"]
                    assert list(content) == ["application/problem+json"], (family, method, path, status)
                    assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
            assert operation["security"], (family, method, path)


def test_problem_documents_carry_the_retry_after_of_429(documents: dict[str, dict[str, Any]]) -> None:
    for family in PROBLEM_FAMILIES:
        for _, _, operation in _operations(documents[family]):
            assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_oauth_operations_document_rfc_6749_errors(documents: dict[str, dict[str, Any]]) -> None:
    document = documents["oauth"]
    served = {(method, path) for path, method, _ in _operations(document)}
    assert set(OAUTH_ENDPOINTS) <= served
    assert not any(path.startswith(("/api/", "/admin/", "/account/")) for _, path in served)
    for path, method, operation in _operations(document):
        bad_request = operation["responses"]["400"]
        if path != "/oauth2/authorize":  # a page for people: its errors are pages
            assert bad_request["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/OAuthErrorBody"
            }, (method, path)
        assert "429" in operation["responses"], (method, path)
    token = document["paths"]["/oauth2/token"]["post"]
    assert "grant_type" in token["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["required"]
    assert set(document["components"]["securitySchemes"]) == {"mutualTLS", "bearer"}


def test_open_banking_documents_answer_in_ob_errors(documents: dict[str, dict[str, Any]]) -> None:
    for family, document in documents.items():
        if not family.startswith("open-banking-"):
            continue
        for path, method, operation in _operations(document):
            for status in ("400", "403"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/OBErrorResponse1"}, (family, method, path, status)


def _routes(app: FastAPI, prefix: str) -> set[tuple[str, str]]:
    return {
        (method.lower(), route.path)
        for route in app.routes
        if isinstance(route, APIRoute) and route.include_in_schema and route.path.startswith(prefix)
        for method in route.methods or ()
    }


def test_documents_hold_every_public_route_and_only_what_the_gateway_admits(
    gateway: ASGIApp, documents: dict[str, dict[str, Any]]
) -> None:
    """Each family's routes of every app are in its document; each documented operation has a policy row."""
    docs = _docs_app(gateway).state.documents
    for family, prefix in (("api-v1", "/api/v1/"), ("admin-v1", "/admin/v1/")):
        documented = {(method, path) for path, method, _ in _operations(documents[family])}
        for app in docs.apps.values():
            missing = _routes(app, prefix) - documented
            assert not missing, (family, missing)
        for method, path in documented:
            policy = policy_for(method.upper(), re.sub(r"\{[^}/]+\}", "x", path))
            assert policy not in (UNMATCHED, METHOD_NOT_ALLOWED) and policy.needs_token, (method, path)
    assert docs.api_v1 is docs.api_v1  # built once per process


def _docs_app(gateway: ASGIApp) -> FastAPI:
    """The documentation app behind the gateway's `/docs` route."""
    app: Any = gateway
    while not hasattr(app, "routes"):
        app = app.app
    route = next(route for route in app.routes if route.prefix == api_docs.DOCS_PATH)
    upstream: FastAPI = route.upstream
    return upstream


def test_colliding_components_of_two_apps_are_prefixed_by_app() -> None:
    page = {"type": "object", "properties": {"items": {"type": "array"}}}
    other_page = {"type": "object", "properties": {"rows": {"type": "array"}}}
    problem = {"type": "object"}

    def part(app: str, page_schema: dict[str, Any]) -> Any:
        paths = {f"/{app}": {"get": {"responses": {"200": {"$ref": "#/components/schemas/Listing"}}}}}
        listing = {"type": "object", "properties": {"page": {"$ref": "#/components/schemas/Page"}}}
        return api_docs._Part(app, paths, {"Listing": listing, "Page": page_schema, "Problem": problem}, [])

    merged = api_docs.merge([part("b", other_page), part("a", page)])
    assert merged == api_docs.merge([part("a", page), part("b", other_page)])  # the order of apps is irrelevant
    paths, schemas, _ = merged
    assert set(schemas) == {"a.Page", "b.Page", "a.Listing", "b.Listing", "Problem"}
    assert schemas["a.Page"] == page and schemas["b.Page"] == other_page
    # A schema that refers to a renamed one differs between the apps too, and is renamed with it.
    assert schemas["b.Listing"]["properties"]["page"] == {"$ref": "#/components/schemas/b.Page"}
    assert paths["/a"]["get"]["responses"]["200"] == {"$ref": "#/components/schemas/a.Listing"}


async def test_the_docs_page_runs_from_our_own_origin_without_inline_script(http: httpx.AsyncClient) -> None:
    index = (await http.get("/openapi/")).json()
    page = await http.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == api_docs.DOCS_CSP
    assert "script-src 'self'" in api_docs.DOCS_CSP and "unsafe" not in api_docs.DOCS_CSP
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all(body == "" and 'src="/docs/assets/' in attributes for attributes, body in scripts)
    assert "https://" not in page.text  # nothing from a CDN
    for asset in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', page.text):
        assert (await http.get(asset)).status_code == 200, asset
    for entry in index:
        family_page = await http.get(f"/docs/{entry['family']}")
        assert family_page.status_code == 200 and f'data-url="{entry["url"]}"' in family_page.text
    missing = await http.get("/docs/nothing")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_the_docs_page_in_chromium(settings: Settings) -> None:
    """Swagger UI renders the documents under the CSP, with no violation and no script error; screenshots in
    test-artifacts/docs-*.png. (Not axe-checked: the page is Swagger UI's markup, not ours.)"""
    from obank.certs import init_development_certificates
    from tests.auth_server.test_browser import ARTIFACTS, DESKTOP
    from tests.web.chromium import PageChecks, chromium
    from tests.web.conftest import WebBank

    init_development_certificates(settings.certs_dir)
    probe = bind_socket("127.0.0.1", 0)
    port = probe.getsockname()[1]
    probe.close()
    url = f"https://127.0.0.1:{port}"
    bank = WebBank(url, settings.model_copy(update={"issuer": url}), {}, _port=port)
    bank.start()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with chromium() as chrome:
            context = chrome.new_context(ignore_https_errors=True, viewport=DESKTOP)
            page = context.new_page()
            checks = PageChecks(page, "docs")
            page.goto(f"{url}/docs")
            page.locator("#operations-transfers-make_transfer_api_v1_transfers_post").click()
            page.get_by_text("Too many requests").first.wait_for(timeout=15_000)
            page.screenshot(path=str(ARTIFACTS / "docs-api-v1.png"), full_page=True)
            page.goto(f"{url}/docs/oauth")
            page.get_by_text("/oauth2/token", exact=True).first.wait_for(timeout=15_000)
            page.screenshot(path=str(ARTIFACTS / "docs-oauth.png"), full_page=True)
            checks.assert_clean()
            context.close()
    finally:
        bank.stop()
