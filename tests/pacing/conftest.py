"""Pacer tests run against a real Redis, in a database of their own (flushed before each test)."""

import os

import pytest
import redis

from pacing.pacer import Pacer


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("PACER_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")  # bench/pacer.py flushes 13
    if redis.Redis.from_url(url).connection_pool.connection_kwargs.get("db", 0) == 0:
        pytest.exit(f"PACER_TEST_REDIS_URL must name a database of its own, not db 0: {url}", returncode=2)
    return url


@pytest.fixture(scope="session")
def redis_client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


@pytest.fixture
def pacer(redis_client: redis.Redis) -> Pacer:
    redis_client.flushdb()
    return Pacer(redis_client)
