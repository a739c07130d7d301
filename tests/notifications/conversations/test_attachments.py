"""Attachments are what their content shows, never what their name or declared type says: PDF, PNG and JPEG
only, at most 700 KB each, three a message; served back as downloads that no browser renders or sniffs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from notifications.conversations.attachments import clean_file_name
from notifications.conversations.models import ATTACHMENT_MAX_BYTES, AttachmentType
from obank.runtime import Platform
from tests.notifications.conversations.conftest import (
    CUSTOMER_BASE,
    EXE,
    HTML,
    JPEG,
    PDF,
    PNG,
    STAFF_BASE,
    ZIP,
    OpenThread,
    audit_actions,
    fetch_all,
    problem,
)


async def _send(
    client: httpx.AsyncClient, thread_id: str, headers: dict[str, str], files: list[Any], text: str = "See attached"
) -> httpx.Response:
    return await client.post(f"{CUSTOMER_BASE}/{thread_id}/messages", data={"text": text}, files=files, headers=headers)


async def test_files_are_kept_and_served_as_their_content_shows(
    client: httpx.AsyncClient, alice: dict[str, str], support: dict[str, str], open_thread: OpenThread
) -> None:
    thread = await open_thread(alice)
    files = [
        ("files", ("scan.pdf", PNG, "application/pdf")),  # a PNG called a PDF: a PNG
        ("files", ("photo.jpeg", JPEG, "image/png")),
        ("files", ("statement.PDF", PDF, "text/plain")),
    ]
    sent = await _send(client, thread["id"], alice, files)
    assert sent.status_code == 201, sent.text
    attachments = sent.json()["attachments"]
    assert [(a["file_name"], a["media_type"], a["size_bytes"]) for a in attachments] == [
        ("scan.png", "image/png", len(PNG)),
        ("photo.jpeg", "image/jpeg", len(JPEG)),
        ("statement.pdf", "application/pdf", len(PDF)),
    ]
    read = await client.get(f"{CUSTOMER_BASE}/{thread['id']}", headers=alice)
    assert read.json()["messages"][1]["attachments"] == attachments

    for base, headers in ((CUSTOMER_BASE, alice), (STAFF_BASE, support)):
        download = await client.get(f"{base}/{thread['id']}/attachments/{attachments[0]['id']}", headers=headers)
        assert download.status_code == 200 and download.content == PNG
        assert download.headers["content-type"] == "image/png"
        assert download.headers["content-disposition"] == (
            "attachment; filename=\"scan.png\"; filename*=UTF-8''scan.png"
        )
        assert download.headers["x-content-type-options"] == "nosniff"
        assert download.headers["cache-control"] == "no-store"
    pdf = await client.get(f"{CUSTOMER_BASE}/{thread['id']}/attachments/{attachments[2]['id']}", headers=alice)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content == PDF


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        pytest.param("invoice.pdf", EXE, "application/pdf", id="exe-called-pdf"),
        pytest.param("photo.png", ZIP, "image/png", id="zip-called-png"),
        pytest.param("letter.jpg", HTML, "image/jpeg", id="html-called-jpg"),
        pytest.param("page.html", HTML, "text/html", id="html"),
        pytest.param("empty.pdf", b"", "application/pdf", id="empty"),
        pytest.param("late.pdf", b" " + PDF, "application/pdf", id="signature-not-at-start"),
    ],
)
async def test_other_content_is_refused_whatever_it_is_called(
    platform: Platform,
    client: httpx.AsyncClient,
    alice: dict[str, str],
    open_thread: OpenThread,
    name: str,
    content: bytes,
    declared: str,
) -> None:
    thread = await open_thread(alice)
    files = [("files", ("fine.png", PNG, "image/png")), ("files", (name, content, declared))]
    refused = problem(await _send(client, thread["id"], alice, files), 415)
    assert refused["code"] == "attachment_type_refused" and "files.1" in refused["detail"]
    assert await audit_actions(platform, thread["id"]) == ["conversation.opened"]  # nothing kept, not even the PNG
    assert await fetch_all(platform, "SELECT id FROM notifications.conversation_attachments") == []


async def test_attachments_over_700_kb_are_refused(
    platform: Platform, client: httpx.AsyncClient, alice: dict[str, str], open_thread: OpenThread
) -> None:
    thread = await open_thread(alice)
    largest = PNG + bytes(ATTACHMENT_MAX_BYTES - len(PNG))
    accepted = await _send(client, thread["id"], alice, [("files", ("big.png", largest, "image/png"))])
    assert accepted.status_code == 201 and accepted.json()["attachments"][0]["size_bytes"] == ATTACHMENT_MAX_BYTES
    too_large = await _send(client, thread["id"], alice, [("files", ("big.png", largest + b"\x00", "image/png"))])
    assert problem(too_large, 413)["code"] == "attachment_too_large"
    assert (await audit_actions(platform, thread["id"])).count("conversation.message_added") == 1


async def test_at_most_three_files_a_message(
    client: httpx.AsyncClient, alice: dict[str, str], open_thread: OpenThread
) -> None:
    thread = await open_thread(alice)
    four = [("files", (f"{n}.png", PNG, "image/png")) for n in range(4)]
    assert problem(await _send(client, thread["id"], alice, four), 422)["code"] == "too_many_attachments"
    many = [("files", (f"{n}.png", PNG, "image/png")) for n in range(20)]
    problem(await _send(client, thread["id"], alice, many), 400, 422)


def multipart(parts: list[tuple[str, str | tuple[str, bytes, str]]]) -> tuple[bytes, str]:
    """A multipart/form-data body of exactly these parts (a client library would refuse or reshape some)."""
    boundary = "obank-test-boundary-17"
    body = b""
    for name, value in parts:
        body += f"--{boundary}\r\n".encode()
        if isinstance(value, str):
            body += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode() + b"\r\n"
        else:
            filename, content, media_type = value
            body += (
                (
                    f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                    f"Content-Type: {media_type}\r\n\r\n"
                ).encode()
                + content
                + b"\r\n"
            )
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    "parts",
    [
        pytest.param([("files", ("a.png", PNG, "image/png"))], id="no-text"),
        pytest.param([("text", "")], id="empty-text"),
        pytest.param([("text", "   ")], id="blank-text"),
        pytest.param([("text", "x" * 5001)], id="text-too-long"),
        pytest.param([("text", "nul\x00byte")], id="nul-in-text"),
        pytest.param([("text", "bell\x07")], id="control-in-text"),
        pytest.param([("text", "ok"), ("author_kind", "staff")], id="unknown-field"),
        pytest.param([("text", "a"), ("text", "b")], id="two-texts"),
        pytest.param([("text", ("t.txt", b"hello", "text/plain"))], id="text-as-file"),
        pytest.param([("text", "ok"), ("files", "not a file")], id="files-as-text"),
    ],
)
async def test_malformed_multipart_messages_are_problems(
    platform: Platform,
    client: httpx.AsyncClient,
    alice: dict[str, str],
    open_thread: OpenThread,
    parts: list[tuple[str, str | tuple[str, bytes, str]]],
) -> None:
    thread = await open_thread(alice)
    body, content_type = multipart(parts)
    answer = await client.post(
        f"{CUSTOMER_BASE}/{thread['id']}/messages", content=body, headers={**alice, "content-type": content_type}
    )
    problem(answer, 422)
    assert await audit_actions(platform, thread["id"]) == ["conversation.opened"]


async def test_a_message_body_is_json_or_multipart(
    client: httpx.AsyncClient, alice: dict[str, str], open_thread: OpenThread
) -> None:
    thread = await open_thread(alice)
    path = f"{CUSTOMER_BASE}/{thread['id']}/messages"
    plain = await client.post(path, content=b"hello", headers={**alice, "content-type": "text/plain"})
    assert problem(plain, 415)["code"] == "unsupported_media_type"
    broken = await client.post(path, content=b"--x\r\nbroken", headers={**alice, "content-type": "multipart/form-data"})
    problem(broken, 400, 422)


@pytest.mark.parametrize(
    ("submitted", "media_type", "kept"),
    [
        pytest.param("scan.pdf", AttachmentType.PNG, "scan.png", id="wrong-extension-replaced"),
        pytest.param("C:\\Users\\me\\Scan.JPG", AttachmentType.JPEG, "Scan.jpg", id="windows-path"),
        pytest.param("../../etc/passwd", AttachmentType.PDF, "passwd.pdf", id="traversal"),
        pytest.param("evil\u202egnp.exe", AttachmentType.PNG, "evilgnp.png", id="bidi-override"),
        pytest.param("", AttachmentType.PDF, "attachment.pdf", id="no-name"),
        pytest.param(None, AttachmentType.PNG, "attachment.png", id="none"),
        pytest.param("...", AttachmentType.PNG, "attachment.png", id="dots"),
        pytest.param("a" * 300 + ".pdf", AttachmentType.PDF, "a" * 116 + ".pdf", id="long"),
        pytest.param("résumé  final.jpeg", AttachmentType.JPEG, "résumé final.jpeg", id="unicode"),
    ],
)
def test_file_names_are_made_safe(submitted: str | None, media_type: AttachmentType, kept: str) -> None:
    assert clean_file_name(submitted, media_type) == kept


async def test_unicode_names_download_with_an_ascii_fallback(
    client: httpx.AsyncClient, alice: dict[str, str], open_thread: OpenThread
) -> None:
    thread = await open_thread(alice)
    sent = await _send(client, thread["id"], alice, [("files", ("reçu final.pdf", PDF, "application/pdf"))])
    attachment = sent.json()["attachments"][0]
    assert attachment["file_name"] == "reçu final.pdf"
    download = await client.get(f"{CUSTOMER_BASE}/{thread['id']}/attachments/{attachment['id']}", headers=alice)
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"re_u final.pdf\"; filename*=UTF-8''re%C3%A7u%20final.pdf"
    )
