"""The public OpenAPI documents the fuzzer reads, fetched through the gateway as any integrator fetches them.

The gateway's index `/openapi/` lists one document per family; the Open Banking families are also listed by
`/open-banking/discovery`, and a family only discovery lists is fuzzed too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.gateway.harness import RunningGateway

INDEX = "/openapi/"
DISCOVERY = "/open-banking/discovery"


@dataclass(frozen=True)
class Document:
    """One OpenAPI document of a family, and the origin-relative path its operations' paths start from."""

    family: str
    title: str
    content: dict[str, Any]

    @property
    def base_path(self) -> str:
        """The path of the document's first server when relative (Open Banking's `/open-banking/v4.0/aisp`)."""
        servers = self.content.get("servers") or [{"url": ""}]
        url = str(servers[0].get("url", ""))
        return urlsplit(url).path.rstrip("/")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def _fetch(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await http.get(_path(url))
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    content: dict[str, Any] = response.json()
    return content


async def _open_banking(http: httpx.AsyncClient, known: set[str]) -> list[Document]:
    """Each Open Banking family's document that discovery lists and the index does not."""
    response = await http.get(DISCOVERY)
    assert response.status_code == 200, response.text
    found = []
    for name, apis in response.json()["Data"].items():
        for api in apis:
            path = _path(api["OpenAPI"])
            if path not in known:
                found.append(Document(f"open-banking-{path.split('/')[3]}", name, await _fetch(http, path)))
    return found


async def public_documents(gateway: RunningGateway) -> list[Document]:
    """Every public OpenAPI document: those the gateway's index lists, and any Open Banking family's it does not."""
    http = gateway.http()
    index = await http.get(INDEX)
    assert index.status_code == 200, index.text
    entries = index.json()
    documents = [Document(entry["family"], entry["title"], await _fetch(http, entry["url"])) for entry in entries]
    return documents + await _open_banking(http, {_path(entry["url"]) for entry in entries})
