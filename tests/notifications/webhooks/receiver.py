"""A real HTTPS webhook receiver for the tests: it verifies every delivery with the Standard Webhooks reference
library (`standardwebhooks.Webhook.verify`, not obank's code) and answers as each endpoint is told to."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.types import Receive, Scope, Send

from obank.server import TLSFiles, bind_socket, build_server


@dataclass
class Receipt:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int
    received_at: float  # time.time()

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    @property
    def payload(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


@dataclass
class Behaviour:
    """How an endpoint answers: `fail_first` requests with `fail_status`, then `status` (after `delay_s`)."""

    secrets: list[str] = field(default_factory=list)
    fail_first: int = 0
    fail_status: int = 500
    status: int = 200
    delay_s: float = 0.0
    seen: int = 0


class Receiver:
    """Endpoints at https://127.0.0.1:<port>/<name> (and https://localhost:<port>/<name>)."""

    def __init__(self) -> None:
        self.behaviours: dict[str, Behaviour] = {}
        self.receipts: list[Receipt] = []
        self.port = 0
        self._stop: Any = None

    def url(self, name: str, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}/{name}"

    def behave(self, name: str, **settings: Any) -> Behaviour:
        behaviour = self.behaviours.setdefault(name, Behaviour())
        for key, value in settings.items():
            setattr(behaviour, key, value)
        return behaviour

    def trust(self, name: str, *secrets: str) -> None:
        """The secrets the endpoint's owner configured; a delivery verifies if any one of them verifies it."""
        self.behave(name, secrets=list(secrets))

    def at(self, name: str) -> list[Receipt]:
        return [receipt for receipt in self.receipts if receipt.path == f"/{name}"]

    def accepted(self, name: str) -> list[Receipt]:
        return [receipt for receipt in self.at(name) if 200 <= receipt.answered < 300]

    def accepted_ids(self, name: str) -> Counter[str]:
        return Counter(receipt.webhook_id for receipt in self.accepted(name))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        received_at = time.time()
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        name = scope["path"].lstrip("/")
        behaviour = self.behaviours.setdefault(name, Behaviour())
        verified = _verify(behaviour.secrets, body, headers)
        behaviour.seen += 1
        if behaviour.delay_s:
            await asyncio.sleep(behaviour.delay_s)
        if not verified:
            answered = 401
        elif behaviour.seen <= behaviour.fail_first:
            answered = behaviour.fail_status
        else:
            answered = behaviour.status
        self.receipts.append(Receipt(scope["path"], headers, body, verified, answered, received_at))
        await send({"type": "http.response.start", "status": answered, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"a body the bank must never keep"})

    async def start(self, tls: TLSFiles) -> None:
        sock = bind_socket("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        server = build_server(self, tls, graceful_shutdown_s=1)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)

        async def stop() -> None:
            server.should_exit = True
            await asyncio.wait_for(task, 10)

        self._stop = stop

    async def stop(self) -> None:
        if self._stop is not None:
            await self._stop()


def _verify(secrets: list[str], body: bytes, headers: dict[str, str]) -> bool:
    for secret in secrets:
        try:
            Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            continue
        return True
    return False


def tls_files(directory: Path) -> TLSFiles:
    return TLSFiles(directory / "server.pem", directory / "server.key", None)
