"""UK Open Banking message signing: the TPP's `x-jws-signature` verified, the bank's added to responses.

R/W API Profile v4.0, "Message Signing": a detached JWS (RFC 7515 appendix F) over the exact HTTP body, PS256,
its protected header holding only `alg`, `kid`, `typ` (optional, `JOSE`), `cty` (optional, JSON) and the three
critical claims `http://openbanking.org.uk/{iat,iss,tan}`; no `b64` (v3.1.4 onwards), so the payload is
base64url-encoded as in any JWS. The Payment Initiation API requires a signature on every POST and on every
response (errors with a body included); Account Information and Confirmation of Funds sign neither.

The trust anchor is this bank: a TPP's key is one it registered with our authorization server (its client's
`jwks` or `jwks_uri`), its `iss` is its client id, and `tan` is the bank's domain name. The bank signs as its
issuer identifier with its message key, published at the issuer's `jwks_uri`.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Header, Request
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.registry import HeaderParameter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth_server.facade import AuthServer, SigningKeysUnavailable
from obank.log import get_logger
from obank.ob_errors import OBErrorCode
from obank.principal import PrincipalDep
from open_banking.errors import Forbidden, OpenBankingError

SIGNATURE_HEADER = "x-jws-signature"
ALGORITHM = "PS256"  # "The signer must sign the message with PS256."
OB_IAT = "http://openbanking.org.uk/iat"
OB_ISS = "http://openbanking.org.uk/iss"
OB_TAN = "http://openbanking.org.uk/tan"
CRITICAL = (OB_IAT, OB_ISS, OB_TAN)
# "Process for Verifying a Signature", step 2: a header "with only the claims specified" in step 2 of signing.
ALLOWED_HEADER = frozenset({"alg", "kid", "typ", "cty", "crit", *CRITICAL})
REQUIRED_HEADER = ("alg", "kid", "crit", *CRITICAL)
JSON_CONTENT_TYPES = frozenset({"json", "application/json"})
# iat "set in the past": up to this far ahead for clock skew, and a signature older than MAX_AGE_S is stale.
MAX_AHEAD_S = 60
MAX_AGE_S = 300
MAX_SIGNATURE_LENGTH = 8192

_log = get_logger("open_banking.signing")


class SignatureRefused(OpenBankingError):
    """An `x-jws-signature` the bank does not accept: 400, nothing done (R/W API Profile, "Message Signing")."""

    code = OBErrorCode.SIGNATURE_INVALID

    def __init__(self, message: str) -> None:
        super().__init__(message, SIGNATURE_HEADER)


class SignatureMissing(SignatureRefused):
    code = OBErrorCode.SIGNATURE_MISSING


class SignatureMalformed(SignatureRefused):
    code = OBErrorCode.SIGNATURE_MALFORMED


class SignatureMissingClaim(SignatureRefused):
    code = OBErrorCode.SIGNATURE_MISSING_CLAIM


class SignatureInvalidClaim(SignatureRefused):
    code = OBErrorCode.SIGNATURE_INVALID_CLAIM


class SignatureInvalid(SignatureRefused):
    """The signature does not verify with the key `kid` names over the body received."""


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """A request's verified signature: who signed, with which key, when."""

    client_id: str
    kid: str
    issued_at: int


def _any_value(_value: object) -> None:
    """Claims checked by `_check_header`, before the signature."""


# joserfc refuses a `crit` naming parameters it does not know (RFC 7515 s4.1.11): these it now knows.
_REGISTRY = jws.JWSRegistry(
    header_registry={name: HeaderParameter(name, _any_value) for name in CRITICAL},
    algorithms=[ALGORITHM],
)


def _b64decode(segment: str) -> bytes:
    if not segment or "=" in segment:
        raise ValueError("not base64url without padding")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _parse(signature: str) -> dict[str, Any]:
    """The protected header of a detached compact JWS, unverified; SignatureMalformed unless it is one."""
    parts = signature.split(".")
    if len(parts) != 3:
        raise SignatureMalformed("not a compact JWS (three dot-separated parts)")
    encoded_header, payload, encoded_signature = parts
    if payload:
        raise SignatureMalformed("the JWS must be detached (RFC 7515 appendix F): its payload part empty")
    try:
        header = json.loads(_b64decode(encoded_header))
        _b64decode(encoded_signature)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise SignatureMalformed("the JWS header or signature is not base64url, or the header not JSON") from exc
    if not isinstance(header, dict):
        raise SignatureMalformed("the JWS header is not a JSON object")
    return header


def _check_header(header: Mapping[str, Any], *, iss: str, trust_anchor: str, now: float) -> str:
    """The header as "Process for Verifying a Signature" step 2 requires it; returns the `kid`."""
    missing = [name for name in REQUIRED_HEADER if name not in header]
    if missing:
        raise SignatureMissingClaim(f"the JWS header lacks {', '.join(missing)}")
    unexpected = sorted(set(header) - ALLOWED_HEADER)
    if unexpected:
        raise SignatureInvalidClaim(f"the JWS header may not hold {', '.join(unexpected)}")
    crit = header["crit"]
    if not isinstance(crit, list) or not all(isinstance(name, str) for name in crit):
        raise SignatureInvalidClaim("crit must be an array of claim names")
    absent = [name for name in CRITICAL if name not in crit]
    if absent:
        raise SignatureMissingClaim(f"crit lacks {', '.join(absent)}")
    if len(crit) != len(CRITICAL):
        raise SignatureInvalidClaim(f"crit must name exactly {', '.join(CRITICAL)}")
    if header["alg"] != ALGORITHM:
        raise SignatureInvalidClaim(f"alg must be {ALGORITHM}")
    if "typ" in header and header["typ"] != "JOSE":
        raise SignatureInvalidClaim("typ, when present, must be JOSE")
    if "cty" in header and header["cty"] not in JSON_CONTENT_TYPES:
        raise SignatureInvalidClaim("cty, when present, must be json or application/json")
    kid = header["kid"]
    if not isinstance(kid, str) or not kid:
        raise SignatureInvalidClaim("kid must name a key")
    issued_at = header[OB_IAT]
    if isinstance(issued_at, bool) or not isinstance(issued_at, int | float):
        raise SignatureInvalidClaim(f"{OB_IAT} must be a number of seconds")
    if issued_at > now + MAX_AHEAD_S:
        raise SignatureInvalidClaim(f"{OB_IAT} is in the future")
    if issued_at < now - MAX_AGE_S:
        raise SignatureInvalidClaim(f"{OB_IAT} is more than {MAX_AGE_S} s old")
    if header[OB_ISS] != iss:
        raise SignatureInvalidClaim(f"{OB_ISS} must be the TPP's client id")
    if header[OB_TAN] != trust_anchor:
        raise SignatureInvalidClaim(f"{OB_TAN} must be {trust_anchor}")
    return kid


class MessageSigning:
    """The bank's side of message signing: TPPs' requests verified, responses signed, by the trust anchor's rules."""

    def __init__(self, auth_server: AuthServer, *, issuer: str, clock: Callable[[], float] = time.time) -> None:
        self._auth_server = auth_server
        self.issuer = issuer
        self.trust_anchor = urlsplit(issuer).hostname or issuer
        self._clock = clock

    async def verify(self, client_id: str, signature: str | None, body: bytes) -> VerifiedSignature:
        """The TPP `client_id`'s signature over `body`, verified; a SignatureRefused subclass otherwise."""
        if not signature:
            raise SignatureMissing("this request must be signed: send a detached JWS of its body in x-jws-signature")
        if len(signature) > MAX_SIGNATURE_LENGTH:
            raise SignatureMalformed("the signature is too long")
        now = self._clock()
        header = _parse(signature)
        kid = _check_header(header, iss=client_id, trust_anchor=self.trust_anchor, now=now)
        try:
            key = await self._auth_server.client_signing_key(client_id, kid, ALGORITHM)
        except SigningKeysUnavailable as exc:
            _log.warning("tpp_signing_keys_unavailable", client_id=client_id)
            raise SignatureInvalidClaim("the TPP's registered keys could not be read; kid cannot be resolved") from exc
        if key is None:
            raise SignatureInvalidClaim(f"kid names no {ALGORITHM} signing key the TPP registered")
        try:
            jws.deserialize_compact(signature, key, algorithms=[ALGORITHM], registry=_REGISTRY, payload=body)
        except (JoseError, ValueError) as exc:
            raise SignatureInvalid("the signature does not verify over the request body") from exc
        return VerifiedSignature(client_id, kid, int(header[OB_IAT]))

    async def sign(self, body: bytes) -> str:
        """The bank's detached JWS of a response body."""
        header = {
            "typ": "JOSE",
            "cty": "application/json",
            OB_IAT: int(self._clock()),
            OB_ISS: self.issuer,
            OB_TAN: self.trust_anchor,
            "crit": list(CRITICAL),
        }
        return await self._auth_server.sign_message(header, body)


async def _verified_request(
    request: Request,
    principal: PrincipalDep,
    signature: Annotated[
        str | None,
        Header(
            alias=SIGNATURE_HEADER,
            description="Required: a detached JWS of the request body (RFC 7515 appendix F) by the TPP's key.",
        ),
    ] = None,
) -> VerifiedSignature:
    if not principal.client_id:
        raise Forbidden("only a TPP signs requests")
    signing: MessageSigning = request.app.state.message_signing
    return await signing.verify(principal.client_id, signature, await request.body())


# A request that must be signed (R/W API Profile, "Message Signing"): verified before the route runs, or 400.
SignedRequest = Annotated[VerifiedSignature, Depends(_verified_request)]


class ResponseSigning:
    """ASGI middleware: the bank's `x-jws-signature` on every response with a body at or under `prefixes`.

    Outermost in the app, so that errors (500s included) are signed as the profile wants: "this header should
    be returned for error responses where a response body is returned".
    """

    def __init__(self, app: ASGIApp, signing: Callable[[], MessageSigning], prefixes: tuple[str, ...]) -> None:
        self._app = app
        self._signing = signing
        self._paths = tuple(prefix.rstrip("/") for prefix in prefixes)
        self._prefixes = tuple(path + "/" for path in self._paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope["path"]) if scope["type"] == "http" else ""
        if scope["type"] != "http" or not (path in self._paths or path.startswith(self._prefixes)):
            await self._app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def signed(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = [(name, value) for name, value in start.get("headers", []) if name.lower() != b"x-jws-signature"]
            signature = await self._signature(body) if body else None
            if signature is not None:
                headers.append((SIGNATURE_HEADER.encode(), signature))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self._app(scope, receive, signed)

    async def _signature(self, body: bytes) -> bytes | None:
        try:
            return (await self._signing().sign(body)).encode("ascii")
        except Exception:
            # The outcome (a payment made) still reaches the TPP, unsigned, rather than a bare 500 hiding it.
            _log.exception("response_not_signed")
            return None
