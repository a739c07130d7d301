"""A payment-order runner in a process of its own: runs due occurrences one transaction at a time until killed
(the crash test), or until none is left (`--until-idle`, the race test: prints how many it ran)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime

from audit.trail import platform_units
from core_banking.jobs import PAYMENT_ORDERS_ACTOR, order_retry_policy
from core_banking.payment_orders import service
from obank.runtime import build_platform
from obank.settings import Settings


async def main(settings_json: str, now: datetime, until_idle: bool) -> None:
    platform = build_platform(Settings.model_validate_json(settings_json))
    print("running", flush=True)
    if until_idle:  # a race: wait for the starting signal (a line on stdin), given to every runner at once
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    ran = 0
    while True:
        async with platform_units(platform).begin(PAYMENT_ORDERS_ACTOR) as uow:
            found = await service.run_next_due(uow, order_retry_policy(platform), now=now)
        if until_idle:
            if not found:
                break
            ran += 1
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(0.05)  # a gap between occurrences for the kill to fall into, or not
    await platform.close()
    print("ran", ran, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--settings", required=True)
    parser.add_argument("--now", required=True)
    parser.add_argument("--until-idle", action="store_true")
    arguments = parser.parse_args(sys.argv[1:])
    asyncio.run(main(arguments.settings, datetime.fromisoformat(arguments.now), arguments.until_idle))
