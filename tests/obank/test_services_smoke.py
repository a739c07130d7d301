"""The real services the suite relies on answer."""

from __future__ import annotations

import redis.asyncio as redis
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from obank.runtime import Platform


async def test_database_is_migrated(platform: Platform) -> None:
    async with platform.engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM platform.alembic_version")) == 1


async def test_redis_answers(redis_url: str) -> None:
    client = redis.from_url(redis_url)
    assert await client.ping()
    await client.aclose()


async def test_kafka_accepts_a_message(kafka_bootstrap: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        metadata = await producer.send_and_wait("smoke", b"hello", key=b"k")
        assert metadata.offset >= 0
    finally:
        await producer.stop()
