"""A delivery process for the lease test: it claims what is due and sends it, until the test kills it."""

from __future__ import annotations

import argparse
import asyncio
import sys

from notifications.webhooks.delivery import WebhookDelivery
from obank.log import configure_logging
from obank.runtime import build_platform
from obank.settings import Settings


async def deliver(settings: Settings) -> None:
    platform = build_platform(settings)
    async with WebhookDelivery(platform) as delivery:
        print("ready", flush=True)
        await delivery.deliver_due()
    await platform.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--settings", required=True)
    arguments = parser.parse_args(sys.argv[1:])
    configure_logging("WARNING")
    asyncio.run(deliver(Settings.model_validate_json(arguments.settings)))
