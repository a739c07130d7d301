"""A payment-order runner for the crash test: runs due occurrences one transaction at a time until killed."""

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


async def main(settings_json: str, now: datetime) -> None:
    platform = build_platform(Settings.model_validate_json(settings_json))
    print("running", flush=True)
    while True:
        async with platform_units(platform).begin(PAYMENT_ORDERS_ACTOR) as uow:
            await service.run_next_due(uow, order_retry_policy(platform), now=now)
        await asyncio.sleep(0.05)  # a gap between occurrences for the kill to fall into, or not


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--settings", required=True)
    parser.add_argument("--now", required=True)
    arguments = parser.parse_args(sys.argv[1:])
    asyncio.run(main(arguments.settings, datetime.fromisoformat(arguments.now)))
