"""Authorization codes: issued after approval, redeemed once at the token endpoint within 60 s."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from auth_server.oauth.authorize import repository
from auth_server.oauth.authorize.models import AuthorizationCode
from obank.crypto import lookup_hashes
from obank.unit_of_work import UnitOfWork

CODE_LIFETIME_S = 60  # FAPI 2.0 SP s5.3.2.1: authorization codes live at most 60 seconds
CODE_PURPOSE = "oauth-authorization-code"


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeBinding:
    """What a code is bound to and carries into the tokens."""

    client_id: str
    grant_id: uuid.UUID | None  # None for staff: they consent to nothing, their roles govern
    subject: str
    redirect_uri: str
    code_challenge: str
    scopes: Sequence[str]
    authorization_details: list[dict[str, Any]] | None
    consent_id: str | None
    nonce: str | None
    acr: str
    amr: Sequence[str]
    auth_time: datetime
    session_id: uuid.UUID | None = None  # a first-party client's: the sign-in session it ends with


async def issue_code(uow: UnitOfWork, binding: CodeBinding, *, now: datetime | None = None) -> str:
    """A new single-use code (256 random bits), stored only as a keyed hash."""
    now = now or datetime.now(UTC)
    code = secrets.token_urlsafe(32)
    row = AuthorizationCode(
        id=uuid.uuid4(),
        code_hash=uow.keyring.keyed_hash(CODE_PURPOSE, code.encode()),
        client_id=binding.client_id,
        grant_id=binding.grant_id,
        subject=binding.subject,
        redirect_uri=binding.redirect_uri,
        code_challenge=binding.code_challenge,
        scopes=list(binding.scopes),
        authorization_details=binding.authorization_details,
        consent_id=binding.consent_id,
        nonce=binding.nonce,
        acr=binding.acr,
        amr=list(binding.amr),
        auth_time=binding.auth_time,
        session_id=binding.session_id,
        created_at=now,
        expires_at=now + timedelta(seconds=CODE_LIFETIME_S),
    )
    await repository.add_code(uow.session, row)
    return code


async def find_code(uow: UnitOfWork, code: str) -> AuthorizationCode | None:
    """The code's row, locked until the transaction ends (two redemptions cannot both see it unused)."""
    if len(code) > 256:
        return None
    return await repository.code_by_hash(uow.session, lookup_hashes(uow.keyring, CODE_PURPOSE, code.encode()))
