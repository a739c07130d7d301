"""`obank serve --workers N`'s supervisor: N processes answer on one socket; a signal or one worker's end stops all."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import time
from typing import Any

import httpx
import psutil
import uvicorn
from starlette.types import Receive, Scope, Send

from obank.server import GC_YOUNG_THRESHOLD, bind_socket, run_server, run_workers, settle_heap

WORKERS = 2
DEADLINE_S = 20.0


async def _whoami(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the serving process's id (and its worker index once a worker says so)."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": str(os.getpid()).encode()})


def _supervise(port: int) -> None:
    sock = bind_socket("127.0.0.1", port)

    def serve(_index: int) -> None:
        server = uvicorn.Server(uvicorn.Config(_whoami, lifespan="off", log_config=None, access_log=False))
        run_server(server, sock)

    stopped_by = run_workers(WORKERS, serve, stop_timeout_s=5)
    raise SystemExit(0 if stopped_by == "SIGTERM" else 3)


def _start(port: int) -> Any:
    supervisor = multiprocessing.get_context("spawn").Process(target=_supervise, args=(port,))
    supervisor.start()
    return supervisor


def _workers_of(supervisor: Any) -> list[psutil.Process]:
    workers: list[psutil.Process] = psutil.Process(supervisor.pid).children()
    return workers


def _pids_answering(port: int) -> set[int]:
    """The processes answering over fresh connections, until every worker has or the deadline passes."""
    seen: set[int] = set()
    deadline = time.monotonic() + DEADLINE_S
    while len(seen) < WORKERS and time.monotonic() < deadline:
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:  # a new connection each time
                seen.add(int(http.get("/").text))
        except httpx.TransportError:
            time.sleep(0.05)
    return seen


def test_every_worker_answers_on_the_shared_socket_and_a_signal_stops_them_all() -> None:
    from tests.services import free_port

    port = free_port()
    supervisor = _start(port)
    try:
        answering = _pids_answering(port)
        workers = _workers_of(supervisor)

        assert answering == {worker.pid for worker in workers}
        assert len(answering) == WORKERS

        os.kill(supervisor.pid, signal.SIGTERM)
        supervisor.join(DEADLINE_S)
        assert supervisor.exitcode == 0  # stopped by the signal it was sent
        assert not any(worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE for worker in workers)
    finally:
        if supervisor.is_alive():
            supervisor.kill()


def test_one_worker_ending_stops_the_others() -> None:
    from tests.services import free_port

    port = free_port()
    supervisor = _start(port)
    try:
        assert len(_pids_answering(port)) == WORKERS
        first, *others = _workers_of(supervisor)

        first.kill()
        supervisor.join(DEADLINE_S)

        assert supervisor.exitcode == 3  # no signal reached the supervisor: a worker ended
        assert not any(other.is_running() and other.status() != psutil.STATUS_ZOMBIE for other in others)
    finally:
        if supervisor.is_alive():
            supervisor.kill()


def test_settling_the_heap_freezes_what_start_up_built() -> None:
    before = gc.get_threshold()
    gc.set_threshold(700, before[1], before[2])  # CPython's default (another test's server may have settled it)
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD > 700
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
