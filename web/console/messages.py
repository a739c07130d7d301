"""Support staff answering customers' secure messages (`/console/messages`)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console/messages", include_in_schema=False)
