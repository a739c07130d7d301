"""Shapes of reconciliation: one discrepancy, and a run's report."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One thing the book of record gets wrong: which check, about what, and how."""

    check: str
    subject: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "subject": self.subject, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    """The outcome of every check over one consistent snapshot."""

    id: uuid.UUID
    trigger: str
    started_at: datetime
    finished_at: datetime
    accounts_checked: int
    entries_checked: int
    holds_checked: int
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.discrepancies
