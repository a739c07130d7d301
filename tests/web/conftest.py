"""The whole bank over real TLS, its issuer at the server's own address, so the web app's callbacks come home."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bank.app import create_app
from bank.demo import seed_and_write_demo
from obank.certs import init_development_certificates
from obank.runtime import build_platform
from obank.server import TLSFiles, bind_socket, build_server, run_server
from obank.settings import Settings


@dataclass(frozen=True)
class WebBank:
    url: str
    settings: Settings
    demo: dict[str, Any]


async def _seed(settings: Settings) -> dict[str, Any]:
    platform = build_platform(settings)
    try:
        path = await seed_and_write_demo(platform, settings.public_base_url())
        demo: dict[str, Any] = json.loads(path.read_text())
        return demo
    finally:
        await platform.close()


@pytest.fixture
def web_bank(settings: Settings) -> Iterator[WebBank]:
    """The platform (gateway, web app, console) over TLS in a thread, demo seeded, issuer = its own URL."""
    init_development_certificates(settings.certs_dir)
    sock = bind_socket("127.0.0.1", 0)
    url = f"https://127.0.0.1:{sock.getsockname()[1]}"
    settings = settings.model_copy(update={"issuer": url})
    demo = asyncio.run(_seed(settings))
    certs = settings.certs_dir
    files = TLSFiles(certs / "server.pem", certs / "server.key", client_ca_file=certs / "ca.pem")
    platform = build_platform(settings)
    server = build_server(create_app(platform), files, http="h11", graceful_shutdown_s=1)
    thread = threading.Thread(target=run_server, args=(server, sock), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield WebBank(url, settings, demo)
    server.should_exit = True
    thread.join(10)
    sock.close()
