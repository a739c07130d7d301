"""Benchmark scripts; run each as `python -m bench.<name>`."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from obank.crypto import generate_key
from obank.settings import Settings


def bench_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Development settings on a throw-away database, with a fresh key ring of one key ("bench")."""
    keys = {"bench": base64.b64encode(generate_key()).decode()}
    return Settings(
        env="development",
        data_dir=data_dir,
        database_url=database_url,
        encryption_keys=json.dumps(keys),
        active_encryption_key_id="bench",
        **overrides,
    )
