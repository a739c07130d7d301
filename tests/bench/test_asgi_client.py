"""The benches' lean in-process client hands an app the request httpx's ASGI transport would, and reads its answer."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import FastAPI, Header, Request
from pydantic import BaseModel

from bench.asgi import AsgiClient, client_cost


class Note(BaseModel):
    text: str


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/notes/{name}", status_code=201)
    async def post(name: str, note: Note, x_tag: Annotated[str, Header()], limit: int = 5) -> dict[str, object]:
        return {"name": name, "text": note.text, "tag": x_tag, "limit": limit}

    @app.post("/forms")
    async def form(request: Request) -> dict[str, str]:
        return {key: str(value) for key, value in (await request.form()).items()}

    @app.get("/notes/{name}")
    async def get(name: str) -> dict[str, str]:
        return {"name": name}

    return app


async def test_requests_reach_the_app_as_through_httpx() -> None:
    app = _app()
    lean = AsgiClient(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as reference:
        for method, path, body in [
            ("POST", "/notes/caf%C3%A9?limit=7", {"text": "bonjour"}),
            ("POST", "/notes/a", {"text": 1}),  # refused: not a string
            ("GET", "/notes/b", None),
            ("GET", "/nothing", None),
        ]:
            headers = {"X-Tag": "t1"}
            ours = await lean.request(method, path, headers=headers, json=body)
            theirs = await reference.request(method, path, headers=headers, json=body)
            assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json())
    created = await lean.post("/notes/x", json={"text": "y"}, headers={"x-tag": "z"})
    assert created.status_code == 201
    assert created.json() == {"name": "x", "text": "y", "tag": "z", "limit": 5}
    posted = await lean.post("/forms", form={"grant_type": "client_credentials", "a b": "c&d=e"})
    assert posted.json() == {"grant_type": "client_credentials", "a b": "c&d=e"}


async def test_the_client_cost_is_measured_for_both_clients() -> None:
    lean, httpx_cost = await client_cost(requests=50)  # figures for the bench to print, not compared here
    assert lean > 0
    assert httpx_cost > 0
