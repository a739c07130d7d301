"""RFC 9440 through the composed gateway: the client certificate forwarded by the trusted proxy, and only by it.

The gateway serves TLS on 127.0.0.1 and trusts 127.0.0.1/32 as its proxy; the same machine's 127.0.0.2 is any
other host on the network, which must not be able to speak for a client (keycloak#17059).
"""

from __future__ import annotations

import base64
import json
import ssl
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pydantic import ValidationError

from gateway.forwarded import forwarded_certificates, tls_extension
from obank.certs import certificate_thumbprint_s256
from obank.settings import ProductionSettingsError, Settings
from tests.auth_server.oauth.conftest import Pki, pki, registrar, shared_database_url
from tests.gateway.harness import RunningGateway, serving_gateway

__all__ = ["pki", "shared_database_url"]

PROXY, STRANGER = "127.0.0.1", "127.0.0.2"
MONITORING = "127.0.0.2"  # scrapes /metrics: where a request is taken to come from decides whether it may
OB_CONSENT = "/open-banking/v4.0/aisp/account-access-consents/"


@pytest.fixture(scope="module")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory, shared_database_url: str, pki: Pki
) -> AsyncIterator[RunningGateway]:
    async with serving_gateway(
        tmp_path_factory.mktemp("forwarded"),
        shared_database_url,
        pki,
        trusted_proxy_networks=[f"{PROXY}/32"],
        metrics_allowed_networks=[f"{MONITORING}/32"],
    ) as running:
        yield running


@pytest.fixture(scope="module")
async def tls_client_auth_tpp(gateway: RunningGateway) -> str:
    """A TPP that authenticates with its certificate alone (RFC 8705 s2.1: `tls_client_auth`)."""
    client = await registrar(gateway.platform)(method="tls_client_auth", grant_types=("client_credentials",))
    return client.client_id


def client_cert(der: bytes) -> str:
    """The RFC 9440 s2.2 `Client-Cert` value: an RFC 8941 Byte Sequence of the certificate's DER."""
    return ":" + base64.b64encode(der).decode() + ":"


def der(pki: Pki, name: str) -> bytes:
    return pki.certificate(name).public_bytes(Encoding.DER)


def connect_from(gateway: RunningGateway, address: str, cert: str | None = None) -> httpx.AsyncClient:
    """An HTTPS client of the gateway whose connections come from `address`, presenting `cert` (or none)."""
    context = ssl.create_default_context(cafile=gateway.pki.ca_file)
    if cert is not None:
        context.load_cert_chain(*gateway.pki.pair(cert))
    transport = httpx.AsyncHTTPTransport(verify=context, local_address=address)
    return httpx.AsyncClient(base_url=gateway.issuer, transport=transport, timeout=10.0)


async def test_a_token_issued_for_the_forwarded_certificate_is_bound_to_it_and_works_only_with_it(
    gateway: RunningGateway, pki: Pki, tls_client_auth_tpp: str
) -> None:
    forwarded = {"client-cert": client_cert(der(pki, "tpp")), "client-cert-chain": client_cert(der(pki, "ca"))}
    async with connect_from(gateway, PROXY) as proxy:
        # The authorization server authenticates the client by the forwarded certificate and binds the token to it.
        issued = await proxy.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": tls_client_auth_tpp, "scope": "accounts"},
            headers=forwarded,
        )
        assert issued.status_code == 200, issued.text
        token = issued.json()["access_token"]
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert claims["cnf"] == {"x5t#S256": certificate_thumbprint_s256(pki.certificate("tpp"))}

        auth = {"authorization": f"Bearer {token}", "x-fapi-interaction-id": str(uuid.uuid4())}
        unknown_consent = OB_CONSENT + str(uuid.uuid4())
        passed = await proxy.get(unknown_consent, headers=auth | {"client-cert": client_cert(der(pki, "tpp"))})
        other = await proxy.get(unknown_consent, headers=auth | {"client-cert": client_cert(der(pki, "other"))})
        none = await proxy.get(unknown_consent, headers=auth)

    # Past every check of the gateway: open_banking itself answers that it holds no such consent.
    assert passed.status_code == 400, passed.text
    assert passed.json()["Errors"][0]["Path"] == "ConsentId"
    for refused, reason in ((other, "another certificate"), (none, "present the certificate")):
        assert refused.status_code == 401, refused.text
        assert reason in refused.headers["www-authenticate"]


async def test_no_one_but_the_proxy_may_send_a_client_certificate(
    gateway: RunningGateway, pki: Pki, tls_client_auth_tpp: str
) -> None:
    token = await gateway.token(tls_client_auth_tpp, subject=str(uuid.uuid4()), cert="tpp", scopes=("accounts",))
    auth = {"authorization": f"Bearer {token}", "x-fapi-interaction-id": str(uuid.uuid4())}
    spoofed = {"client-cert": client_cert(der(pki, "tpp"))}
    unknown_consent = OB_CONSENT + str(uuid.uuid4())
    async with connect_from(gateway, STRANGER) as stranger, connect_from(gateway, STRANGER, cert="tpp") as tpp:
        open_banking = await stranger.get(unknown_consent, headers=auth | spoofed)
        first_party = await stranger.get("/api/v1/accounts", headers=spoofed)
        token_endpoint = await stranger.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": tls_client_auth_tpp, "scope": "accounts"},
            headers=spoofed,
        )
        chain_only = await stranger.get("/healthz", headers={"client-cert-chain": spoofed["client-cert"]})
        # The TPP's own TLS connection (native mTLS) still works from anywhere: no header involved.
        native = await tpp.get(unknown_consent, headers=auth)

    assert open_banking.status_code == 400, open_banking.text
    [error] = open_banking.json()["Errors"]
    assert (error["ErrorCode"], error["Path"]) == ("U006", "Client-Cert")
    assert first_party.status_code == 400
    assert first_party.headers["content-type"] == "application/problem+json"
    assert first_party.json()["code"] == "untrusted_client_certificate_header"
    assert token_endpoint.status_code == 400, token_endpoint.text
    assert "access_token" not in token_endpoint.text
    assert chain_only.status_code == 400
    # Past the gateway's checks: open_banking wants a client credentials token for consents.
    assert native.status_code == 403, native.text
    assert native.json()["Errors"][0]["ErrorCode"] == "AG01"


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"client-cert": "MIIBAgMEBQ=="}, "Client-Cert"),  # base64 without the Byte Sequence's colons
        ({"client-cert": ":not*base64:"}, "Client-Cert"),
        ({"client-cert": ":" + base64.b64encode(b"not a certificate").decode() + ":"}, "Client-Cert"),
        ({"client-cert": '"a string"'}, "Client-Cert"),
        ({"client-cert-chain": ":AAAA:"}, "Client-Cert-Chain"),  # a chain without the client's certificate
        ({"x-forwarded-for": "198.51.100.7, not-an-address"}, "X-Forwarded-For"),
    ],
    ids=["bare-base64", "bad-alphabet", "not-der", "string", "chain-alone", "forwarded-for"],
)
async def test_a_malformed_header_from_the_proxy_is_refused(
    gateway: RunningGateway, headers: dict[str, str], named: str
) -> None:
    async with connect_from(gateway, PROXY) as proxy:
        response = await proxy.get(OB_CONSENT + str(uuid.uuid4()), headers=headers)
    assert response.status_code == 400, response.text
    [error] = response.json()["Errors"]
    assert named in error["Path"], error


async def test_two_client_cert_fields_are_refused(gateway: RunningGateway, pki: Pki) -> None:
    value = client_cert(der(pki, "tpp")).encode()
    async with connect_from(gateway, PROXY) as proxy:
        response = await proxy.get("/api/v1/accounts", headers=[(b"client-cert", value), (b"client-cert", value)])
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_forwarded_header"


async def test_the_client_address_is_the_proxys_last_hop_and_only_the_proxys(gateway: RunningGateway) -> None:
    async with connect_from(gateway, PROXY) as proxy, connect_from(gateway, STRANGER) as stranger:
        # /metrics answers the monitoring address only: what the gateway took for the client address decides.
        forwarded_monitoring = await proxy.get("/metrics", headers={"x-forwarded-for": f"203.0.113.9, {MONITORING}"})
        forwarded_stranger = await proxy.get("/metrics", headers={"x-forwarded-for": f"{MONITORING}, 203.0.113.9"})
        proxy_itself = await proxy.get("/metrics")
        spoofed = await stranger.get("/metrics", headers={"x-forwarded-for": "203.0.113.9"})
    assert forwarded_monitoring.status_code == 200
    assert forwarded_stranger.status_code == 404
    assert proxy_itself.status_code == 404
    assert spoofed.status_code == 200  # the stranger's own address counts, whatever it claims


def test_trusted_proxy_networks_read_as_a_list_or_json_and_refuse_a_host_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OBANK_TRUSTED_PROXY_NETWORKS", "10.0.0.0/8, 172.31.250.0/24")
    assert Settings().trusted_proxy_networks == ["10.0.0.0/8", "172.31.250.0/24"]
    monkeypatch.setenv("OBANK_TRUSTED_PROXY_NETWORKS", '["::1/128"]')
    assert Settings().trusted_proxy_networks == ["::1/128"]
    monkeypatch.setenv("OBANK_TRUSTED_PROXY_NETWORKS", "10.0.0.1/8")
    with pytest.raises(ValidationError, match="trusted_proxy_networks"):
        Settings()
    monkeypatch.delenv("OBANK_TRUSTED_PROXY_NETWORKS")
    assert Settings().trusted_proxy_networks == []


def test_a_gateway_behind_a_trusted_proxy_needs_no_certificate_files_in_production() -> None:
    production: dict[str, Any] = {
        "env": "production",
        "role": "gateway",
        "database_url": "postgresql://db/obank",
        "redis_url": "redis://redis",
        "kafka_bootstrap_servers": "kafka:9092",
        "issuer": "https://bank.example",
    }
    with pytest.raises(ProductionSettingsError, match="OBANK_TLS_CERT_FILE") as direct:
        Settings(**production).check_production_ready()
    with pytest.raises(ProductionSettingsError) as proxied:
        Settings(**production, trusted_proxy_networks=["10.0.0.0/8"]).check_production_ready()
    assert "OBANK_TLS_CERT_FILE" not in str(proxied.value)
    assert str(direct.value) != str(proxied.value)


def test_a_forwarded_certificate_keeps_its_exact_bytes(pki: Pki) -> None:
    original = der(pki, "tpp")
    ders = forwarded_certificates([(b"client-cert", client_cert(original).encode())])
    assert ders == [original]
    tls = tls_extension(ders)
    parsed = x509.load_pem_x509_certificate(tls["client_cert_chain"][0].encode())
    assert parsed.public_bytes(Encoding.DER) == original
    assert tls["client_cert_name"] == pki.certificate("tpp").subject.rfc4514_string()
