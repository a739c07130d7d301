"""What stops a page: no signed-in session, a refused form, or an API answer the page cannot show."""

from __future__ import annotations

from typing import Any

from web.sessions.schemas import PendingAction


class SignInNeeded(Exception):
    """No signed-in session on this surface (or its tokens stopped working): sign in, then resume."""

    def __init__(self, return_to: str) -> None:
        super().__init__(return_to)
        self.return_to = return_to


class FormRejected(Exception):
    """A form without this session's CSRF token (403, nothing done)."""


class ApiRefused(Exception):
    """The API refused a call: its status and problem (problem+json) for the page to show in words."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.problem = problem

    @property
    def code(self) -> str:
        return str(self.problem.get("code") or self.problem.get("error") or "")

    @property
    def message(self) -> str:
        detail = self.problem.get("detail") or self.problem.get("title") or self.problem.get("error_description")
        return str(detail or "The bank could not do this. Please try again.")


class StepUpNeeded(Exception):
    """The API asked for a fresh strong authentication (RFC 9470) before `action`."""

    def __init__(self, action: PendingAction, max_age: int) -> None:
        super().__init__(action.path)
        self.action = action
        self.max_age = max_age
