"""What an attached file is, from its content: the signatures of the three types we take, and a safe name.

Three fixed signatures need no library (`filetype` or libmagic would name dozens of types we refuse anyway). The
declared content type and the file's name are never trusted: a `.pdf` holding a PNG is a PNG, and is served as one
(with `nosniff` and as a download, so a browser never renders it in the bank's origin).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

from notifications.conversations.models import AttachmentType

# File signatures: PDF 1.0-2.0 (ISO 32000-2 s7.5.2 header at the file's start, which we require at offset 0),
# PNG (RFC 2083 s3.1, all eight bytes), JPEG (SOI marker FFD8 followed by the next marker's FF).
_SIGNATURES: tuple[tuple[bytes, AttachmentType], ...] = (
    (b"%PDF-", AttachmentType.PDF),
    (b"\x89PNG\r\n\x1a\n", AttachmentType.PNG),
    (b"\xff\xd8\xff", AttachmentType.JPEG),
)
EXTENSIONS: dict[AttachmentType, tuple[str, ...]] = {
    AttachmentType.PDF: (".pdf",),
    AttachmentType.PNG: (".png",),
    AttachmentType.JPEG: (".jpg", ".jpeg"),
}
FILE_NAME_MAX = 120
DEFAULT_STEM = "attachment"
_SPACES = re.compile(r"\s+")


def detect_type(content: bytes) -> AttachmentType | None:
    """The attachment's type by its first bytes; None for anything else (executables, archives, HTML, empty)."""
    for signature, media_type in _SIGNATURES:
        if content.startswith(signature):
            return media_type
    return None


def clean_file_name(submitted: str | None, media_type: AttachmentType) -> str:
    """The name to keep and offer on download: no directories or control characters, at most 120 characters,
    and an extension that says what the content is (`scan.pdf` holding a PNG becomes `scan.png`)."""
    name = (submitted or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")  # controls, format, surrogates
    name = _SPACES.sub(" ", name).strip(" .")
    path = PurePosixPath(name or DEFAULT_STEM)
    extensions = EXTENSIONS[media_type]
    if path.suffix.lower() in extensions:
        stem, suffix = path.stem, path.suffix.lower()
    else:
        stem, suffix = (path.stem if path.suffix else path.name), extensions[0]
    stem = stem.strip(" .") or DEFAULT_STEM
    return stem[: FILE_NAME_MAX - len(suffix)] + suffix
