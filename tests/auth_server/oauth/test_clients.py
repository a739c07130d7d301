"""The client registry: admin API (staff with the admin role), FAPI metadata rules, RFC 7591/7592, CLI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey, RSAKey
from typer.testing import Result

from auth_server.oauth.clients.cli import app
from auth_server.oauth.config import ADMIN_CLIENTS_PATH, REGISTRATION_PATH, TOKEN_PATH
from obank.settings import Settings
from tests.auth_server.oauth.conftest import (
    REDIRECT_URI,
    TPP_SUBJECT,
    RegisteredClient,
    RunningAS,
    assertion_form,
    generate_key,
    public_jwks,
    run_cli,
    staff_headers,
)

ADMIN = ("admin",)


@pytest.fixture
async def admin_api(auth_server: RunningAS) -> AsyncIterator[httpx.AsyncClient]:
    """The admin routes as the gateway reaches them: in-process, with a signed principal assertion."""
    transport = httpx.ASGITransport(app=auth_server.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://bank.test") as http:
        yield http


def tpp_metadata(**overrides: Any) -> dict[str, Any]:
    key = generate_key("ES256")
    return {
        "client_name": "Registry TPP",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "client_credentials"],
        "scope": "openid accounts",
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": public_jwks(key),
        **overrides,
    }


async def test_only_admin_staff_manage_clients(admin_api: httpx.AsyncClient, auth_server: RunningAS) -> None:
    app = auth_server.app

    anonymous = await admin_api.get(ADMIN_CLIENTS_PATH)
    support = await admin_api.get(ADMIN_CLIENTS_PATH, headers=staff_headers(app, "support"))
    customer = await admin_api.get(ADMIN_CLIENTS_PATH, headers=staff_headers(app, "admin", kind="customer"))
    admin = await admin_api.get(ADMIN_CLIENTS_PATH, headers=staff_headers(app, *ADMIN))

    assert anonymous.status_code == 401
    assert support.status_code == 403
    assert customer.status_code == 403
    assert admin.status_code == 200


async def test_admin_registers_updates_and_disables_a_client(
    admin_api: httpx.AsyncClient, auth_server: RunningAS
) -> None:
    headers = staff_headers(auth_server.app, *ADMIN)
    metadata = tpp_metadata()

    created = await admin_api.post(ADMIN_CLIENTS_PATH, json={**metadata, "client_id": "registry-tpp"}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["metadata"]["tls_client_certificate_bound_access_tokens"] is True
    updated = await admin_api.put(
        f"{ADMIN_CLIENTS_PATH}/registry-tpp", json={**metadata, "client_name": "Renamed TPP"}, headers=headers
    )
    assert updated.json()["metadata"]["client_name"] == "Renamed TPP"
    duplicate = await admin_api.post(
        ADMIN_CLIENTS_PATH, json={**metadata, "client_id": "registry-tpp"}, headers=headers
    )
    assert duplicate.status_code == 400

    record = (await admin_api.get(f"{ADMIN_CLIENTS_PATH}/registry-tpp", headers=headers)).json()
    assert record["status"] == "ACTIVE"
    disabled = await admin_api.post(f"{ADMIN_CLIENTS_PATH}/registry-tpp/disable", headers=headers)
    assert disabled.json()["status"] == "DISABLED"
    missing = await admin_api.get(f"{ADMIN_CLIENTS_PATH}/nobody", headers=headers)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("overrides", "error", "fragment"),
    [
        ({"redirect_uris": ["http://tpp.example/callback"]}, "invalid_redirect_uri", "https"),
        ({"redirect_uris": ["http://127.0.0.1/callback"]}, "invalid_redirect_uri", "https"),
        ({"redirect_uris": ["https://tpp.example/cb#frag"]}, "invalid_redirect_uri", "fragment"),
        ({"redirect_uris": []}, "invalid_redirect_uri", "at least one"),
        ({"token_endpoint_auth_method": "none", "jwks": None}, "invalid_client_metadata", "bank's own"),
        (
            {"jwks": {"keys": [RSAKey.generate_key(1024, private=True).as_dict(private=False)]}},
            "invalid_client_metadata",
            "2048",
        ),
        (
            {"jwks": {"keys": [ECKey.generate_key("P-256", private=True).as_dict(private=True)]}},
            "invalid_client_metadata",
            "public",
        ),
        ({"jwks": None}, "invalid_client_metadata", "jwks"),
        ({"jwks_uri": "https://tpp.example/jwks"}, "invalid_client_metadata", "both"),
        ({"token_endpoint_auth_method": "tls_client_auth", "jwks": None}, "invalid_client_metadata", "subject_dn"),
        ({"scope": "openid admin"}, "invalid_client_metadata", "admin"),
        ({"authorization_details_types": ["open_sesame"]}, "invalid_client_metadata", "open_sesame"),
        ({"token_endpoint_auth_signing_alg": "RS256"}, "invalid_request", "token_endpoint_auth_signing_alg"),
        ({"token_endpoint_auth_method": "client_secret_basic"}, "invalid_request", "token_endpoint_auth_method"),
    ],
    ids=[
        "http",
        "loopback-for-confidential",
        "fragment",
        "code-without-redirect",
        "public-third-party",
        "rsa-1024",
        "private-jwk",
        "no-keys",
        "jwks-and-uri",
        "mtls-without-dn",
        "unknown-scope",
        "unknown-details-type",
        "rs256",
        "client-secret",
    ],
)
async def test_metadata_outside_the_fapi_profile_is_refused(
    admin_api: httpx.AsyncClient, auth_server: RunningAS, overrides: dict[str, Any], error: str, fragment: str
) -> None:
    response = await admin_api.post(
        ADMIN_CLIENTS_PATH, json=tpp_metadata(**overrides), headers=staff_headers(auth_server.app, *ADMIN)
    )

    assert response.status_code == (422 if error == "invalid_request" else 400), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == error
    assert fragment in response.json()["detail"]


async def test_the_banks_own_app_may_be_a_public_client_with_a_loopback_redirect(
    admin_api: httpx.AsyncClient, auth_server: RunningAS
) -> None:
    body = {
        "client_name": "obank mobile",
        "redirect_uris": ["http://127.0.0.1/callback", "https://app.obank.test/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid",
        "token_endpoint_auth_method": "none",
        "first_party": True,
    }

    response = await admin_api.post(ADMIN_CLIENTS_PATH, json=body, headers=staff_headers(auth_server.app, *ADMIN))

    assert response.status_code == 201, response.text
    assert response.json()["metadata"]["tls_client_certificate_bound_access_tokens"] is False


async def test_dynamic_registration_needs_a_single_use_initial_access_token(
    admin_api: httpx.AsyncClient, auth_server: RunningAS
) -> None:
    issued = await admin_api.post(
        f"{ADMIN_CLIENTS_PATH}/initial-access-tokens", headers=staff_headers(auth_server.app, *ADMIN)
    )
    initial_token = issued.json()["initial_access_token"]
    key = generate_key("PS256")
    metadata = {**tpp_metadata(), "jwks": public_jwks(key), "token_endpoint_auth_signing_alg": "PS256"}
    http = auth_server.http()

    without = await http.post(REGISTRATION_PATH, json=metadata)
    registered = await http.post(REGISTRATION_PATH, json=metadata, headers={"Authorization": f"Bearer {initial_token}"})
    reused = await http.post(REGISTRATION_PATH, json=metadata, headers={"Authorization": f"Bearer {initial_token}"})

    assert without.status_code == 401
    assert without.json()["error"] == "invalid_token"
    assert registered.status_code == 201, registered.text
    assert registered.headers["cache-control"] == "no-store"
    assert reused.status_code == 401
    body = registered.json()
    client_id = body["client_id"]
    assert body["registration_client_uri"] == auth_server.url(f"{REGISTRATION_PATH}/{client_id}")
    assert body["token_endpoint_auth_signing_alg"] == "PS256"

    # The new client authenticates at once with the key it registered.
    dummy = RegisteredClient(client_id, key, "PS256")
    token = await http.post(
        TOKEN_PATH, data={"grant_type": "client_credentials", **assertion_form(dummy, auth_server.issuer)}
    )
    assert token.status_code == 200, token.text

    # RFC 7592: read, replace and delete with the registration access token, and nothing else.
    management = {"Authorization": f"Bearer {body['registration_access_token']}"}
    client_uri = f"{REGISTRATION_PATH}/{client_id}"
    assert (await http.get(client_uri, headers={"Authorization": "Bearer obrat_wrong"})).status_code == 401
    assert (await http.get(client_uri, headers=management)).json()["client_name"] == "Registry TPP"
    replaced = await http.put(
        client_uri, json={**metadata, "client_id": client_id, "client_name": "Renamed"}, headers=management
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["client_name"] == "Renamed"
    assert (await http.delete(client_uri, headers=management)).status_code == 204
    assert (await http.get(client_uri, headers=management)).status_code == 401
    refused = await http.post(
        TOKEN_PATH, data={"grant_type": "client_credentials", **assertion_form(dummy, auth_server.issuer)}
    )
    assert refused.status_code == 401


async def test_dynamic_registration_refuses_public_clients_and_bad_metadata(
    admin_api: httpx.AsyncClient, auth_server: RunningAS
) -> None:
    http = auth_server.http()

    async def register(body: Any) -> httpx.Response:
        issued = await admin_api.post(
            f"{ADMIN_CLIENTS_PATH}/initial-access-tokens", headers=staff_headers(auth_server.app, *ADMIN)
        )
        headers = {"Authorization": f"Bearer {issued.json()['initial_access_token']}"}
        return await http.post(REGISTRATION_PATH, json=body, headers=headers)

    public = await register({**tpp_metadata(), "token_endpoint_auth_method": "none", "jwks": None})
    malformed = await register({"client_name": 7})
    not_an_object = await register(["client_name"])

    for response in (public, malformed, not_an_object):
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_client_metadata"


def _cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    return run_cli(app, settings, monkeypatch, *args)


def test_clients_commands(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    metadata_file = tmp_path / "tpp.json"
    metadata_file.write_text(
        json.dumps(
            tpp_metadata(
                token_endpoint_auth_method="tls_client_auth", tls_client_auth_subject_dn=TPP_SUBJECT, jwks=None
            )
        )
    )
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps(tpp_metadata(redirect_uris=["http://tpp.example/cb"])))

    registered = _cli(settings, monkeypatch, "register", str(metadata_file), "--client-id", "cli-tpp")
    refused = _cli(settings, monkeypatch, "register", str(bad_file))
    listed = _cli(settings, monkeypatch, "list")
    shown = _cli(settings, monkeypatch, "show", "cli-tpp")
    token = _cli(settings, monkeypatch, "initial-token")
    disabled = _cli(settings, monkeypatch, "disable", "cli-tpp")

    assert registered.exit_code == 0, registered.output
    assert registered.stdout.strip() == "cli-tpp"
    assert refused.exit_code == 1
    assert "invalid_redirect_uri" in refused.output
    assert "cli-tpp" in listed.stdout and "tls_client_auth" in listed.stdout
    assert json.loads(shown.stdout)["tls_client_auth_subject_dn"] == TPP_SUBJECT
    assert token.stdout.strip().startswith("obiat_")
    assert disabled.exit_code == 0
    assert json.loads(_cli(settings, monkeypatch, "show", "cli-tpp").stdout)["status"] == "DISABLED"
