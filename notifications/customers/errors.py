"""Refusals of the customer notification API, rendered as problem details."""

from __future__ import annotations

from obank.problems import ProblemError


class InvalidPreferences(ProblemError):
    status = 422
    code = "invalid_preferences"
    title = "These notification preferences cannot be set"


class NotificationNotFound(ProblemError):
    status = 404
    code = "notification_not_found"
    title = "Notification not found"
