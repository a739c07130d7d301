"""The customer's secure messages with the bank (`/app/messages`)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/app/messages", include_in_schema=False)
