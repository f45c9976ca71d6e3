"""Workers in separate processes claim from one pool on the Redis clock; no limit may break between them."""

import multiprocessing
import time

import redis

from pacing.pacer import Pacer, Policy

from .audit import numbers, violations

WS = 9
POLICY = Policy(gap_s=1, cap=2, window_s=3)  # both bind: a number is free at 0, 1, 3, 4, 6... s
WORKERS = 4
RUN_S = 4.2  # attempts at about 0, 1, 3 and 4 s per number


def hammer(redis_url: str, start, results) -> None:
    """One worker: once every worker is ready, claim in a tight loop (batches of 1 to 3) for RUN_S."""
    pacer = Pacer(redis.Redis.from_url(redis_url))
    got, k = [], 0
    start.wait()
    until = time.monotonic() + RUN_S
    while time.monotonic() < until:
        k = k % 3 + 1
        result = pacer.claim(workspace_id=WS, pool_id="p", policy=POLICY, call_ids=["c"] * k)
        got += [(c.number, c.at_ms) for c in result.claims]
    results.put(got)


def test_concurrent_workers_never_break_gap_or_cap(pacer, redis_url):
    pool = numbers(5)
    pacer.rebuild(workspace_id=WS, attempts=[], pools={"p": pool})
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(WORKERS), spawn.Queue()
    workers = [spawn.Process(target=hammer, args=(redis_url, start, results)) for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    per_worker = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join()
    history = {n: [at for got in per_worker for number, at in got if number == n] for n in pool}
    assert sum(1 for got in per_worker if got) > 1, "the workers did not contend"
    assert all(len(h) >= 3 for h in history.values()), history  # every number freed up and was retaken
    assert {n: v for n, h in history.items() if (v := violations(h, POLICY))} == {}
