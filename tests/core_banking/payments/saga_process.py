"""A payments worker for the crash tests: the relay, every consumer, the scheme's dispatcher and the chase.

It runs until the parent SIGKILLs it. Its settings come from the parent as JSON (`--settings`); the relay
polls slowly (`outbox_poll_interval_s`), so each saga step waits a while after the step before commits,
and the parent can kill the process in that gap.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from obank.runtime import build_platform
from obank.settings import Settings
from tests.core_banking.payments.conftest import running


async def main(settings_json: str) -> None:
    platform = build_platform(Settings.model_validate_json(settings_json))
    async with running(platform):
        print("running", flush=True)
        await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--settings", required=True)
    asyncio.run(main(parser.parse_args(sys.argv[1:]).settings))
