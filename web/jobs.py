"""The web app's periodic work (registered in bank/jobs.py)."""

from __future__ import annotations

from datetime import datetime

from obank.runtime import Platform
from web.sessions.service import purge_expired


async def purge_web_sessions(platform: Platform, due_at: datetime) -> dict[str, int]:
    """Forget browsers' sessions past their idle or absolute expiry (their sealed tokens with them)."""
    return {"sessions": await purge_expired(platform.sessions, platform.settings, due_at)}
