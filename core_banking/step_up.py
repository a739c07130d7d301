"""Step-up authentication (RFC 9470): an operation that needs a fresh strong customer authentication.

A customer signed in with password and TOTP (`acr` = `obank.claims.ACR_SCA`) at most `max_age` ago may go
on; anyone else is refused with 401 and a `WWW-Authenticate` challenge naming the `acr_values` and `max_age`
to sign in again with (RFC 9470 s3), after which the client retries the same request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core_banking.dependencies import CustomerCaller
from core_banking.errors import DomainError
from obank.claims import ACR_SCA


class StepUpRequired(DomainError):
    """The operation needs a fresh strong authentication (RFC 9470): sign in again with a TOTP, then retry."""

    status = 401
    code = "insufficient_user_authentication"
    title = "A fresh strong customer authentication is required"


def _quoted(value: str) -> str:
    """An RFC 9110 s5.6.4 quoted-string's content: backslash and double quote escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def require_strong_authentication(
    caller: CustomerCaller, reason: str, max_age: timedelta, *, now: datetime | None = None
) -> None:
    """Go on if the caller signed in with SCA at most `max_age` ago; else StepUpRequired with its challenge.

    `reason` is the challenge's `error_description` and the problem's detail (say why, never personal data).
    """
    principal = caller.principal
    signed_in = principal.auth_time
    seconds = int(max_age.total_seconds())
    moment = (now or datetime.now(UTC)).timestamp()
    if principal.acr == ACR_SCA and signed_in is not None and moment - signed_in <= seconds:
        return
    challenge = (
        f'Bearer error="insufficient_user_authentication", error_description="{_quoted(reason)}", '
        f'acr_values="{ACR_SCA}", max_age={seconds}'
    )
    raise StepUpRequired(reason, headers={"WWW-Authenticate": challenge})
