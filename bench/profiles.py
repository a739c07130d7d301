"""Profiles and memory of a server under load: py-spy speedscope files with a top-frames summary, RSS sampling.

`recording(pid, directory, name)` runs `py-spy record` on a process while the block runs and writes
`<name>.speedscope.json` (open it at speedscope.app or in the speedscope viewer) and `<name>.top.txt`, the
top frames by own time and by total time, as `py-spy top` ranks them. `RssSampler` follows the resident set
size of a group of processes in a background thread.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

MIB = 1024 * 1024
TRUNK_SHARE = 0.95  # of the busiest frame's total: frames above it are the trunk every sample shares


def py_spy() -> str:
    """The py-spy beside this interpreter (the virtualenv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


@dataclass(frozen=True)
class FrameShare:
    """A frame and the share of samples it was in (total) or on top of (own)."""

    frame: str
    share: float


def _frame_label(frame: dict[str, Any]) -> str:
    file = str(frame.get("file", ""))
    for marker in ("site-packages/", "/lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    else:
        file = file.removeprefix(str(Path.cwd()) + "/")
    line = frame.get("line")
    return f"{frame.get('name', '?')} ({file}{f':{line}' if line else ''})"


def top_frames(speedscope: dict[str, Any], count: int) -> tuple[list[FrameShare], list[FrameShare]]:
    """The `count` frames with most own samples and most total samples, over every thread's sampled profile.

    The total ranking leaves out the trunk (frames on the stack nearly as often as the busiest one: the
    process's bootstrap, the event loop), which would otherwise fill the list and say nothing.
    """
    frames = [_frame_label(frame) for frame in speedscope["shared"]["frames"]]
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    weight_sum = 0.0
    for profile in speedscope["profiles"]:
        if profile.get("type") != "sampled":
            continue
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            if not stack:
                continue
            weight_sum += weight
            own[frames[stack[-1]]] += weight
            for label in {frames[index] for index in stack}:  # a recursive frame counts once per sample
                total[label] += weight
    if not weight_sum:
        return [], []

    def ranked(counter: Counter[str]) -> list[FrameShare]:
        return [FrameShare(label, weight / weight_sum) for label, weight in counter.most_common(count)]

    trunk = TRUNK_SHARE * max(total.values())
    return ranked(own), ranked(Counter({label: weight for label, weight in total.items() if weight < trunk}))


def summary(speedscope: dict[str, Any], count: int = 15) -> str:
    """A `py-spy top`-like text: the top frames by own time, then by total time."""
    own, total = top_frames(speedscope, count)
    lines = [f"top {count} frames by own time (share of samples):"]
    lines += [f"  {item.share:6.1%}  {item.frame}" for item in own]
    lines += ["", f"top {count} frames by total time (share of samples the frame is on the stack; trunk left out):"]
    lines += [f"  {item.share:6.1%}  {item.frame}" for item in total]
    return "\n".join(lines)


@contextmanager
def recording(pid: int, directory: Path, name: str, rate: int = 500) -> Iterator[None]:
    """py-spy record of `pid` while the block runs; writes the speedscope file and the top-frames summary."""
    directory.mkdir(parents=True, exist_ok=True)
    output = directory / f"{name}.speedscope.json"
    command = [py_spy(), "record", "--pid", str(pid), "--rate", str(rate), "--format", "speedscope"]
    # --nonblocking: sample without pausing the server, so the profile does not slow what it measures.
    recorder = subprocess.Popen(
        [*command, "--nonblocking", "--output", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    time.sleep(0.3)  # attaching takes a moment; samples before it are lost, not wrong
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        _, errors = recorder.communicate(timeout=60)
    if not output.exists():
        print(f"py-spy wrote no profile for {name}: {errors.decode(errors='replace')[-500:]}")
        return
    text = summary(json.loads(output.read_text()))
    (directory / f"{name}.top.txt").write_text(text + "\n")
    print(f"profile of {name}: {output} and {directory / f'{name}.top.txt'}\n{text}")


class RssSampler:
    """The summed resident set size of the processes `pids`, sampled every `interval` seconds."""

    def __init__(self, pids: Sequence[int], interval: float = 0.1) -> None:
        self.processes = [psutil.Process(pid) for pid in pids]
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def rss(self) -> int:
        """Bytes resident now, over the processes still alive."""
        total = 0
        for process in self.processes:
            try:
                total += int(process.memory_info().rss)
            except psutil.NoSuchProcess:
                continue
        return total

    def start(self) -> None:
        self.peak = self.rss()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> int:
        """Stop sampling; the peak RSS in bytes since `start`."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.peak

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.rss())


def mib(size: int) -> str:
    return f"{size / MIB:.0f} MiB"
