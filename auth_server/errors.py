"""Domain errors of auth_server: each carries its HTTP status, a stable code and a message for people."""

from __future__ import annotations

from typing import ClassVar


class AuthError(Exception):
    """A refused operation; subclasses fix the status, code and the sentence a person reads."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Something is not right with this request"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
