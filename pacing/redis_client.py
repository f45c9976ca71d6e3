"""The Redis client behind a pacer URL: one server, or a Redis Cluster through redis-py's cluster client.

Django-free, like pacer.py: the pacing app's services build the process's pacer with it, the tests theirs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException, SlotNotCoveredError

_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def redis_from_url(url: str, **kwargs: Any) -> redis.Redis | RedisCluster:
    """A client for a pacer URL: `redis+cluster://host:port` (`rediss+cluster://` with TLS) names any node
    of a Redis Cluster, and the client finds the others; any other URL is one server, as redis-py reads it
    (`redis://`, `rediss://`, `unix://`)."""
    scheme, _, rest = url.partition("://")
    if scheme not in _CLUSTER_SCHEMES:
        return redis.Redis.from_url(url, **kwargs)
    path = rest.partition("?")[0].partition("/")[2]
    if path not in ("", "0"):  # RedisCluster would say "not possible in cluster mode", naming no URL
        raise ValueError(f"a Redis Cluster has database 0 only: {url}")
    with _unreachable_is_connection_error():  # it asks a node for the slots at once
        return _Cluster.from_url(f"{_CLUSTER_SCHEMES[scheme]}://{rest}", **kwargs)


class _Cluster(RedisCluster):
    """redis-py's cluster client, failing as a single server's client does when it cannot reach Redis.

    The apps catch redis.RedisError for "Redis is down" (pages say so, the dispatcher waits); redis-py's
    cluster client raises RedisClusterException instead, which is not one, where no node answers or a
    slot has no master. Its other RedisClusterExceptions are programming errors and stay as they are.
    """

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        with _unreachable_is_connection_error():
            return super().execute_command(*args, **kwargs)

    def transaction(self, func: Any, *watches: Any, **kwargs: Any) -> Any:
        with _unreachable_is_connection_error():
            return super().transaction(func, *watches, **kwargs)

    def get_node_from_key(self, key: Any, replica: bool = False) -> Any:
        with _unreachable_is_connection_error():
            return super().get_node_from_key(key, replica)


@contextmanager
def _unreachable_is_connection_error() -> Iterator[None]:
    try:
        yield
    except SlotNotCoveredError as exc:
        raise redis.ConnectionError(str(exc)) from exc
    except RedisClusterException as exc:
        if not isinstance(exc.__cause__, redis.RedisError):  # "cannot be connected" names its cause
            raise
        raise redis.ConnectionError(str(exc)) from exc
