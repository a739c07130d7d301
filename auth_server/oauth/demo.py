"""Demo OAuth clients for `obank serve` and `obank demo`: a TPP (private_key_jwt over mTLS), the bank's own app
and its staff console.

Idempotent: reruns keep the client ids and the TPP's signing key (kept under certs/, owner-only, git-ignored);
a missing key file is replaced and the client's registered keys follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import ECKey, RSAKey

from auth_server.identities.schemas import IdentityKind
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.clients.schemas import (
    ACCOUNT_INFORMATION,
    FUNDS_CONFIRMATION,
    PAYMENT_INITIATION,
    ClientMetadata,
)
from obank.actor import Actor
from obank.certs import DEMO_TPP, generate_private_key, load_private_key, private_key_pem, write_private_key
from obank.unit_of_work import UnitOfWork, UnitsOfWork

DEMO_ACTOR = Actor.system("auth_server.demo")
TPP_CLIENT_ID = "demo-tpp"
TPP_REDIRECT_URI = "https://tpp.demo.obank.example/callback"
TPP_SIGNING_KEY_FILE = "tpp-demo-signing.key"
# UK Open Banking message signing (`x-jws-signature` on payment initiation) is PS256: an RSA key of its own.
TPP_MESSAGE_KEY_FILE = "tpp-demo-message-signing.key"
MESSAGE_KEY_BITS = 2048
FIRST_PARTY_CLIENT_ID = "obank-app"
FIRST_PARTY_REDIRECT_URI = "http://127.0.0.1:8765/callback"  # RFC 8252 s7.3: a native app's loopback listener
STAFF_CONSOLE_CLIENT_ID = "obank-staff-console"
STAFF_CONSOLE_REDIRECT_URI = "http://127.0.0.1:8766/callback"
# The bank's web app and console (`web/`) are these same clients, signing people in at the issuer's origin.
WEB_APP_CALLBACK = "/app/callback"
WEB_CONSOLE_CALLBACK = "/console/callback"


@dataclass(frozen=True, slots=True)
class DemoTpp:
    client_id: str
    private_key: Path
    key_id: str
    message_private_key: Path
    message_key_id: str
    certificate: Path
    redirect_uri: str


@dataclass(frozen=True, slots=True)
class DemoClients:
    tpp: DemoTpp
    first_party_client_id: str
    first_party_redirect_uri: str
    staff_console_client_id: str
    staff_console_redirect_uri: str


def _signing_key(certs_dir: Path) -> tuple[ECKey, bool]:
    """The TPP's ES256 key from certs/, created (0600) when missing; and whether it was created."""
    path = certs_dir / TPP_SIGNING_KEY_FILE
    created = not path.exists()
    if created:
        certs_dir.mkdir(parents=True, exist_ok=True)
        write_private_key(path, generate_private_key())
    key = ECKey.import_key(private_key_pem(load_private_key(path)))
    key.ensure_kid()
    return key, created


def _message_key(certs_dir: Path) -> tuple[RSAKey, bool]:
    """The TPP's PS256 message-signing key from certs/, created (0600) when missing; and whether it was created."""
    path = certs_dir / TPP_MESSAGE_KEY_FILE
    created = not path.exists()
    if created:
        certs_dir.mkdir(parents=True, exist_ok=True)
        generated = RSAKey.generate_key(MESSAGE_KEY_BITS, private=True)
        path.touch(mode=0o600)
        path.write_bytes(generated.as_pem(private=True))
    key = RSAKey.import_key(path.read_bytes())
    key.ensure_kid()
    return key, created


def _tpp_metadata(key: ECKey, message_key: RSAKey) -> ClientMetadata:
    return ClientMetadata(
        client_name="Demo TPP",
        redirect_uris=[TPP_REDIRECT_URI],
        grant_types=["authorization_code", "refresh_token", "client_credentials"],
        scope="openid accounts payments fundsconfirmations",
        token_endpoint_auth_method="private_key_jwt",  # noqa: S106
        token_endpoint_auth_signing_alg="ES256",  # noqa: S106
        jwks={
            "keys": [
                {**key.as_dict(private=False), "kid": key.kid, "use": "sig", "alg": "ES256"},
                {**message_key.as_dict(private=False), "kid": message_key.kid, "use": "sig", "alg": "PS256"},
            ]
        },
        tls_client_auth_subject_dn=DEMO_TPP.subject,
        authorization_details_types=[ACCOUNT_INFORMATION, PAYMENT_INITIATION, FUNDS_CONFIRMATION],
    )


def _first_party_metadata(issuer: str | None) -> ClientMetadata:
    web = [issuer.rstrip("/") + WEB_APP_CALLBACK] if issuer else []
    return ClientMetadata(
        client_name="obank app",
        redirect_uris=[FIRST_PARTY_REDIRECT_URI, *web],
        grant_types=["authorization_code", "refresh_token"],
        scope="openid accounts payments",
        token_endpoint_auth_method="none",  # noqa: S106
    )


def _staff_console_metadata(issuer: str | None) -> ClientMetadata:
    """Staff sign in through /staff/login with TOTP; their tokens carry their roles, no customer scope."""
    web = [issuer.rstrip("/") + WEB_CONSOLE_CALLBACK] if issuer else []
    return ClientMetadata(
        client_name="obank staff console",
        redirect_uris=[STAFF_CONSOLE_REDIRECT_URI, *web],
        grant_types=["authorization_code", "refresh_token"],
        scope="openid",
        token_endpoint_auth_method="none",  # noqa: S106
    )


async def seed_demo_clients(units: UnitsOfWork, certs_dir: Path, issuer: str | None = None) -> DemoClients:
    """Register (once) the demo TPP, bound to certs/tpp-demo.pem, and the first-party public clients.

    With `issuer`, the first-party clients also accept the web app's and console's callbacks at its origin
    (re-registered when the issuer changes). One transaction of its own, acting as the demo.
    """
    async with units.begin(DEMO_ACTOR) as uow:
        return await _seed(uow, certs_dir, issuer)


async def _first_party_client(
    uow: UnitOfWork, client_id: str, metadata: ClientMetadata, identity_kind: IdentityKind
) -> None:
    existing = await clients_service.find_client(uow.session, client_id)
    if existing is None:
        await clients_service.register_client(
            uow, metadata, client_id=client_id, first_party=True, identity_kind=identity_kind
        )
    elif list(existing.redirect_uris) != metadata.redirect_uris or list(existing.grant_types) != metadata.grant_types:
        await clients_service.update_client(uow, client_id, metadata)


async def _seed(uow: UnitOfWork, certs_dir: Path, issuer: str | None) -> DemoClients:
    session = uow.session
    key, created = _signing_key(certs_dir)
    message_key, message_key_created = _message_key(certs_dir)
    existing = await clients_service.find_client(session, TPP_CLIENT_ID)
    metadata = _tpp_metadata(key, message_key)
    if existing is None:
        await clients_service.register_client(uow, metadata, client_id=TPP_CLIENT_ID)
    elif (
        created
        or message_key_created
        or existing.jwks is None
        or not {key.kid, message_key.kid} <= {k.get("kid") for k in existing.jwks.get("keys", [])}
        or list(existing.authorization_details_types) != metadata.authorization_details_types
    ):
        # A new key, or a demo bank seeded before a consent kind was added: the registration follows.
        await clients_service.update_client(uow, TPP_CLIENT_ID, metadata)
    await _first_party_client(uow, FIRST_PARTY_CLIENT_ID, _first_party_metadata(issuer), IdentityKind.CUSTOMER)
    await _first_party_client(uow, STAFF_CONSOLE_CLIENT_ID, _staff_console_metadata(issuer), IdentityKind.STAFF)
    assert key.kid is not None and message_key.kid is not None
    return DemoClients(
        tpp=DemoTpp(
            client_id=TPP_CLIENT_ID,
            private_key=certs_dir / TPP_SIGNING_KEY_FILE,
            key_id=key.kid,
            message_private_key=certs_dir / TPP_MESSAGE_KEY_FILE,
            message_key_id=message_key.kid,
            certificate=certs_dir / f"{DEMO_TPP.name}.pem",
            redirect_uri=TPP_REDIRECT_URI,
        ),
        first_party_client_id=FIRST_PARTY_CLIENT_ID,
        first_party_redirect_uri=FIRST_PARTY_REDIRECT_URI,
        staff_console_client_id=STAFF_CONSOLE_CLIENT_ID,
        staff_console_redirect_uri=STAFF_CONSOLE_REDIRECT_URI,
    )
