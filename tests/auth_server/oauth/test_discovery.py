"""Discovery (RFC 8414, OpenID Connect Discovery): every claim in the document is true of the server."""

from __future__ import annotations

from typing import Any

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata  # type: ignore[import-untyped]

from auth_server.oauth.config import (
    INTROSPECTION_PATH,
    OAUTH_METADATA_PATH,
    OPENID_CONFIGURATION_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
)
from tests.auth_server.oauth.conftest import RegisterClient, RunningAS, assertion_form


async def _document(auth_server: RunningAS, path: str) -> dict[str, Any]:
    response = await auth_server.http(None).get(path)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


@pytest.mark.parametrize("path", [OPENID_CONFIGURATION_PATH, OAUTH_METADATA_PATH])
async def test_the_document_is_valid_and_states_the_fapi_profile(auth_server: RunningAS, path: str) -> None:
    document = await _document(auth_server, path)

    AuthorizationServerMetadata(document).validate()
    assert document["issuer"] == auth_server.issuer
    assert document["require_pushed_authorization_requests"] is True
    assert document["tls_client_certificate_bound_access_tokens"] is True
    assert document["authorization_response_iss_parameter_supported"] is True
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["response_types_supported"] == ["code"]
    for name in (
        "token_endpoint_auth_signing_alg_values_supported",
        "introspection_endpoint_auth_signing_alg_values_supported",
        "revocation_endpoint_auth_signing_alg_values_supported",
    ):
        assert sorted(document[name]) == ["ES256", "EdDSA", "PS256"], name
    # `none`: the bank's own public apps (code flow); introspection stays for confidential clients.
    assert sorted(document["token_endpoint_auth_methods_supported"]) == [
        "none",
        "private_key_jwt",
        "self_signed_tls_client_auth",
        "tls_client_auth",
    ]
    assert document["revocation_endpoint_auth_methods_supported"] == document["token_endpoint_auth_methods_supported"]
    assert "none" not in document["introspection_endpoint_auth_methods_supported"]
    if path == OPENID_CONFIGURATION_PATH:
        assert sorted(document["id_token_signing_alg_values_supported"]) == ["ES256", "PS256"]


async def test_every_advertised_endpoint_is_served(auth_server: RunningAS) -> None:
    document = await _document(auth_server, OPENID_CONFIGURATION_PATH)
    endpoints = {name: url for name, url in document.items() if name.endswith("_endpoint") or name == "jwks_uri"}

    assert endpoints, "the document names no endpoint"
    for name, url in endpoints.items():
        assert url.startswith(auth_server.issuer + "/"), name
        path = url.removeprefix(auth_server.issuer)
        response = await auth_server.http().request("GET" if name == "jwks_uri" else "POST", path)
        # Served: a JWK Set, or an RFC 6749 error for an empty request; never "no such endpoint".
        assert response.status_code in (200, 400, 401), (name, response.status_code)
        if name == "authorization_endpoint":  # a page for people: an HTML error page, not JSON
            assert "text/html" in response.headers["content-type"], name
            continue
        assert response.status_code == 200 or response.json()["error"] != "not_found", name


async def test_advertised_grant_types_are_exactly_those_the_token_endpoint_runs(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    document = await _document(auth_server, OAUTH_METADATA_PATH)
    client = await register_client()

    for grant_type in ("client_credentials", "authorization_code", "refresh_token", "password", "implicit"):
        response = await auth_server.http().post(
            TOKEN_PATH, data={"grant_type": grant_type, **assertion_form(client, auth_server.issuer)}
        )
        served = response.json().get("error") != "unsupported_grant_type"
        assert served == (grant_type in document["grant_types_supported"]), grant_type


async def test_public_clients_authenticate_where_none_is_advertised_and_nowhere_else(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    document = await _document(auth_server, OAUTH_METADATA_PATH)
    app = await register_client(method="none", grant_types=("authorization_code",), scope="openid", first_party=True)
    endpoints = {
        "token_endpoint_auth_methods_supported": (TOKEN_PATH, {"grant_type": "authorization_code", "code": "x"}),
        "revocation_endpoint_auth_methods_supported": (REVOCATION_PATH, {"token": "unknown"}),
        "introspection_endpoint_auth_methods_supported": (INTROSPECTION_PATH, {"token": "unknown"}),
    }

    for name, (path, form) in endpoints.items():
        response = await auth_server.http(None).post(path, data={"client_id": app.client_id, **form})
        authenticated = response.status_code == 200 or response.json()["error"] != "invalid_client"
        assert authenticated == ("none" in document[name]), (name, response.text)
