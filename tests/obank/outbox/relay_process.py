"""A relay process for the crash tests: it delivers part of a batch, says so, and waits to be SIGKILLed."""

from __future__ import annotations

import argparse
import asyncio
import sys

from obank.database import create_engine, create_sessionmaker
from obank.outbox import ConsumerRegistry, InProcessPublisher, OutboxRelay, Publisher
from obank.outbox.kafka import KafkaPublisher
from tests.obank.outbox.scenario import DiesMidBatch, recording_consumer


async def main(args: argparse.Namespace) -> None:
    engine = create_engine(args.database_url, pool_size=2)
    sessions = create_sessionmaker(engine)
    inner: Publisher
    if args.kafka:
        # Tansu's memory engine cannot initialise an idempotent producer (see test_kafka.py).
        kafka = KafkaPublisher(args.kafka, args.topic_prefix, enable_idempotence=False)
        await kafka.start()
        inner = kafka
    else:
        registry = ConsumerRegistry()
        registry.register(recording_consumer(args.consumer, args.topic))
        inner = InProcessPublisher(registry, sessions)
    publisher = DiesMidBatch(inner, after=args.crash_after)
    relay = OutboxRelay(sessions, publisher, batch_size=args.batch_size)
    batch = asyncio.create_task(relay.run_once())
    await publisher.reached.wait()
    print(f"delivered {args.crash_after}", flush=True)
    await batch  # never returns: the parent kills this process here


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--consumer", default="")
    parser.add_argument("--crash-after", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--kafka", default="")
    parser.add_argument("--topic-prefix", default="")
    asyncio.run(main(parser.parse_args(sys.argv[1:])))
