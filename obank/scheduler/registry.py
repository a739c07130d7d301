"""The jobs a process schedules: each a name, a schedule and the coroutine that does one due time's work."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from obank.runtime import Platform
from obank.scheduler.schedules import Schedule

# What a run may report: a few counts (no personal data, no identifiers), stored with the run.
RunResult = Mapping[str, int]
JobFunction = Callable[[Platform, datetime], Coroutine[Any, Any, RunResult | None]]

_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")


@dataclass(frozen=True, slots=True)
class Job:
    """A periodic job. `run(platform, due_at)` does the work of one due time and must be safe to repeat.

    A run may be repeated (its process died mid-way, or it failed and is retried) and due times a stopped
    scheduler missed are folded into the next one, so `run` does everything outstanding up to `due_at`,
    not just what is new since the previous due time.
    """

    name: str
    schedule: Schedule
    run: JobFunction
    description: str

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"a job name is lower-case letters, digits and hyphens: {self.name!r}")


class JobRegistry:
    """The jobs one deployment runs, by name, in the order given."""

    def __init__(self, jobs: Iterable[Job] = ()) -> None:
        self._jobs: dict[str, Job] = {}
        for job in jobs:
            if job.name in self._jobs:
                raise ValueError(f"two jobs are named {job.name!r}")
            self._jobs[job.name] = job

    def get(self, name: str) -> Job | None:
        return self._jobs.get(name)

    @property
    def names(self) -> list[str]:
        return list(self._jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(self._jobs.values())

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, name: object) -> bool:
        return name in self._jobs
