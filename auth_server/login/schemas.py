"""Outcomes of each step of signing in, as the pages act on them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from auth_server.sessions.schemas import IssuedSession


class NextStep(StrEnum):
    """Where the browser goes after a step succeeded."""

    OTP = "otp"
    ENROL = "enrol"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class PasswordStepOutcome:
    """`issued` is None when the sign-in was refused (for whatever reason: the person is not told)."""

    issued: IssuedSession | None
    next_step: NextStep | None = None


@dataclass(frozen=True, slots=True)
class SecondFactorOutcome:
    """A refused code either leaves the pending session to retry or, when it locked the login, ends it."""

    issued: IssuedSession | None
    session_ended: bool = False
    recovery_codes_left: int | None = None


@dataclass(frozen=True, slots=True)
class EnrolmentOutcome:
    issued: IssuedSession
    recovery_codes: list[str] = field(default_factory=list)
