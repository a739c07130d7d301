"""Grant types at the token endpoint; `client_credentials` here, the code flow's grants register beside it."""

from __future__ import annotations

from auth_server.oauth.client_auth.service import AuthenticatedClient, require_certificate
from auth_server.oauth.errors import InvalidScope, UnauthorizedClient
from auth_server.oauth.server import OAuthServer
from auth_server.oauth.tokens.models import SubjectKind
from auth_server.oauth.tokens.schemas import TokenResponse
from obank.unit_of_work import UnitOfWork

CLIENT_CREDENTIALS = "client_credentials"
# Scopes that speak for a person, so never granted to a client acting for itself.
USER_ONLY_SCOPES = frozenset({"openid"})


async def client_credentials(
    uow: UnitOfWork, server: OAuthServer, caller: AuthenticatedClient, form: dict[str, str]
) -> TokenResponse:
    """RFC 6749 s4.4: a confidential client's own token, bound to its certificate (RFC 8705 s3)."""
    client = caller.client
    if not client.is_confidential or CLIENT_CREDENTIALS not in client.grant_types:
        raise UnauthorizedClient("this client may not use the client_credentials grant")
    allowed = [s for s in client.scopes if s not in USER_ONLY_SCOPES]
    requested = list(dict.fromkeys((form.get("scope") or "").split()))
    if requested:
        refused = [s for s in requested if s not in allowed]
        if refused:
            raise InvalidScope(f"scopes not available to client_credentials for this client: {' '.join(refused)}")
        scopes = requested
    else:
        scopes = allowed  # RFC 6749 s3.3: the registered default
    if not scopes:
        raise InvalidScope("no scope is available to this client for client_credentials")
    thumbprint = require_certificate(caller)
    # No other state changes here: the token, its event and audit record go in a group commit.
    issued = await server.tokens.issue_access_token_in_group(
        client=client,
        grant_type=CLIENT_CREDENTIALS,
        subject=client.client_id,
        subject_kind=SubjectKind.CLIENT,
        scopes=scopes,
        certificate_thumbprint=thumbprint,
    )
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in, scope=" ".join(scopes))
