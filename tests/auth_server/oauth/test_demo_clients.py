"""Demo OAuth clients: registered once, the TPP's signing key kept owner-only under certs/ and reused."""

from __future__ import annotations

import stat

from auth_server.identities.schemas import IdentityKind
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.demo import seed_demo_clients
from obank.database import unit_of_work
from obank.runtime import Platform
from obank.unit_of_work import UnitsOfWork


async def test_demo_clients_are_registered_once_and_keep_their_key(platform: Platform, units: UnitsOfWork) -> None:
    certs_dir = platform.settings.certs_dir
    first = await seed_demo_clients(units, certs_dir)
    again = await seed_demo_clients(units, certs_dir)
    async with unit_of_work(platform.sessions) as session:
        tpp = await clients_service.get_client(session, first.tpp.client_id)
        app = await clients_service.get_client(session, first.first_party_client_id)

    assert again == first
    assert stat.S_IMODE(first.tpp.private_key.stat().st_mode) == 0o600
    assert tpp.token_endpoint_auth_method == "private_key_jwt" and tpp.is_confidential
    assert stat.S_IMODE(first.tpp.message_private_key.stat().st_mode) == 0o600
    # ES256 for its client assertions, PS256 for signing Open Banking messages (x-jws-signature).
    assert tpp.jwks is not None
    assert [(k["kid"], k["alg"]) for k in tpp.jwks["keys"]] == [
        (first.tpp.key_id, "ES256"),
        (first.tpp.message_key_id, "PS256"),
    ]
    assert tpp.tls_client_auth_subject_dn == "CN=Demo TPP,O=Demo TPP Ltd,C=GB"
    assert tpp.redirect_uris == (first.tpp.redirect_uri,)
    assert app.first_party and not app.is_confidential and app.redirect_uris == (first.first_party_redirect_uri,)
    assert app.identity_kind is IdentityKind.CUSTOMER and tpp.identity_kind is IdentityKind.CUSTOMER
    async with unit_of_work(platform.sessions) as session:
        console = await clients_service.get_client(session, first.staff_console_client_id)
    # The staff console: public, first-party, signs staff in, code + rotating refresh tokens, no customer scope.
    assert console.identity_kind is IdentityKind.STAFF and console.first_party and not console.is_confidential
    assert console.redirect_uris == (first.staff_console_redirect_uri,)
    assert console.grant_types == ("authorization_code", "refresh_token") and console.scopes == ("openid",)

    first.tpp.private_key.unlink()  # a lost key is replaced, and the registration follows it
    replaced = await seed_demo_clients(units, certs_dir)
    async with unit_of_work(platform.sessions) as session:
        tpp = await clients_service.get_client(session, first.tpp.client_id)
    assert replaced.tpp.key_id != first.tpp.key_id and replaced.tpp.message_key_id == first.tpp.message_key_id
    assert tpp.jwks is not None
    assert [k["kid"] for k in tpp.jwks["keys"]] == [replaced.tpp.key_id, first.tpp.message_key_id]
