"""Pacer tests run against a real Redis, in a database of their own (flushed before each test), and again
against a real Redis Cluster (tests/cluster.py) through redis-py's cluster client."""

import os

import pytest
import redis

from pacing.pacer import Pacer
from pacing.redis_client import redis_from_url


@pytest.fixture(scope="session", params=["standalone", "cluster"])
def redis_url(request) -> str:
    if request.param == "cluster":
        return request.getfixturevalue("redis_cluster").url  # the cluster's own: flushed at will
    url = os.environ.get("PACER_TEST_REDIS_URL", "redis://127.0.0.1:6379/12")  # bench/pacer.py flushes 13
    if redis.Redis.from_url(url).connection_pool.connection_kwargs.get("db", 0) == 0:
        pytest.exit(f"PACER_TEST_REDIS_URL must name a database of its own, not db 0: {url}", returncode=2)
    return url


@pytest.fixture(scope="session")
def redis_client(redis_url: str) -> redis.Redis:
    return redis_from_url(redis_url)


@pytest.fixture
def pacer(redis_client: redis.Redis) -> Pacer:
    redis_client.flushdb()  # on a cluster, every master's
    return Pacer(redis_client)
