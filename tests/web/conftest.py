"""The whole bank over real TLS, its issuer at the server's own address, so the web app's callbacks come home."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn

from bank.app import create_app
from bank.demo import seed_and_write_demo
from obank.certs import init_development_certificates
from obank.runtime import build_platform
from obank.server import TLSFiles, bind_socket, build_server, run_server
from obank.settings import Settings


@dataclass
class WebBank:
    """The bank serving at `url`; `restart()` stops the process's server and starts a new one on the same port."""

    url: str
    settings: Settings
    demo: dict[str, Any]
    _port: int = 0
    _running: tuple[uvicorn.Server, threading.Thread, socket.socket] | None = field(default=None, repr=False)

    def start(self) -> None:
        certs = self.settings.certs_dir
        files = TLSFiles(certs / "server.pem", certs / "server.key", client_ca_file=certs / "ca.pem")
        sock = bind_socket("127.0.0.1", self._port)
        server = build_server(create_app(build_platform(self.settings)), files, http="h11", graceful_shutdown_s=1)
        thread = threading.Thread(target=run_server, args=(server, sock), daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        self._running = (server, thread, sock)

    def stop(self) -> None:
        if self._running is not None:
            server, thread, sock = self._running
            server.should_exit = True
            thread.join(10)
            sock.close()
            self._running = None

    def restart(self) -> None:
        self.stop()
        self.start()


async def _seed(settings: Settings) -> dict[str, Any]:
    platform = build_platform(settings)
    try:
        path = await seed_and_write_demo(platform, settings.public_base_url())
        demo: dict[str, Any] = json.loads(path.read_text())
        return demo
    finally:
        await platform.close()


@pytest.fixture
def make_web_bank(settings: Settings) -> Iterator[Callable[..., WebBank]]:
    """Start the platform (gateway, web app, console) over TLS in a thread, demo seeded, issuer = its own URL;
    keyword arguments override settings."""
    started: list[WebBank] = []

    def make(**overrides: Any) -> WebBank:
        init_development_certificates(settings.certs_dir)
        probe = bind_socket("127.0.0.1", 0)
        port = probe.getsockname()[1]
        probe.close()
        url = f"https://127.0.0.1:{port}"
        configured = settings.model_copy(update={"issuer": url, **overrides})
        bank = WebBank(url, configured, asyncio.run(_seed(configured)), _port=port)
        bank.start()
        started.append(bank)
        return bank

    yield make
    for bank in started:
        bank.stop()


@pytest.fixture
def web_bank(make_web_bank: Callable[..., WebBank]) -> WebBank:
    """The bank with default settings."""
    return make_web_bank()
