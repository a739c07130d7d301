"""The stack's floor for a token: node-oidc-provider's work in a bare FastAPI route on obank's TLS server.

One route does what node-oidc-provider (with its in-memory adapter) does per `client_credentials` request, in
the libraries obank is built on, and nothing else: read the form, verify the ES256 client assertion with
joserfc (issuer, subject, audience, expiry, jti present), take the client certificate's thumbprint, and sign
an ES256 `at+jwt` bound to it. No database, replay cache, audit record, middleware or dependency injection.
`bench.tokens` serves it on `obank.server` (uvicorn over TLS, the certificate in the ASGI TLS extension) with
the same load generator, so obank's rate against this one is the cost of what obank adds (durable jti replay
protection, the token's row and audit record, the app's checks), and this one's against node-oidc-provider's
is the cost of the stack itself.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from obank.server import TLSFiles, build_server, run_server

TOKEN_PATH = "/floor/token"
JWKS_PATH = "/floor/jwks"
JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
LIFETIME = 300


def _refusal(error: str) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=400)


def _thumbprint(certificate_pem: str) -> str:
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(certificate_pem)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def floor_app(client_id: str, client_jwk: dict[str, Any], issuer: str) -> FastAPI:
    """The one-route token endpoint for `client_id`, whose public key is `client_jwk`."""
    client_key = ECKey.import_key(client_jwk)
    signing_key = ECKey.generate_key("P-256", private=True)
    signing_key.ensure_kid()
    header = {"alg": "ES256", "typ": "at+jwt", "kid": signing_key.kid}
    assertion_claims = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": client_id},
        sub={"essential": True, "value": client_id},
        aud={"essential": True, "value": issuer},
        exp={"essential": True},
        jti={"essential": True},
    )
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get(JWKS_PATH)
    async def jwks() -> dict[str, Any]:
        return {"keys": [signing_key.as_dict(private=False)]}

    @app.post(TOKEN_PATH)
    async def token(request: Request) -> JSONResponse:
        form = await request.form()
        assertion = form.get("client_assertion")
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != JWT_BEARER_ASSERTION:
            return _refusal("invalid_request")
        if not isinstance(assertion, str):
            return _refusal("invalid_client")
        try:
            claims = jwt.decode(assertion, client_key, algorithms=["ES256"]).claims
            assertion_claims.validate(claims)
        except (JoseError, ValueError):
            return _refusal("invalid_client")
        chain = request.scope.get("extensions", {}).get("tls", {}).get("client_cert_chain") or []
        if not chain:
            return _refusal("invalid_client")
        now = int(time.time())
        access = {
            "iss": issuer,
            "sub": client_id,
            "aud": issuer,
            "client_id": client_id,
            "scope": "accounts",
            "iat": now,
            "exp": now + LIFETIME,
            "jti": uuid.uuid4().hex,
            "cnf": {"x5t#S256": _thumbprint(chain[0])},
        }
        signed = jwt.encode(header, access, signing_key, algorithms=["ES256"])
        return JSONResponse(
            {"access_token": signed, "token_type": "Bearer", "expires_in": LIFETIME, "scope": "accounts"}
        )

    return app


def serve_floor(sock: socket.socket, directory: Path, client_id: str, client_jwk: dict[str, Any], issuer: str) -> None:
    """One floor server process (forked), on the shared listening socket."""
    from obank.log import configure_logging

    configure_logging("WARNING")
    app = floor_app(client_id, client_jwk, issuer)
    files = TLSFiles(directory / "server.pem", directory / "server.key", directory / "ca.pem")
    run_server(build_server(app, files), sock)
