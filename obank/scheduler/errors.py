"""What the scheduler refuses or records as a run's failure."""

from __future__ import annotations

from obank.problems import ProblemError


class UnknownJob(ProblemError):
    status = 404
    code = "unknown_job"
    title = "No job has this name"

    def __init__(self, name: str) -> None:
        super().__init__(f"no job is named {name!r}")
        self.name = name


class RunAbandoned(Exception):
    """Recorded when a run's process stopped heartbeating on its last allowed attempt."""
