"""Workers in separate processes claim from one pool on the Redis clock; no limit may break between them."""

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import redis

from pacing.pacer import Pacer, Policy

from .audit import numbers, violations

WS = 9
POLICY = Policy(gap_s=1, cap=2, window_s=3)  # both bind: a number is free at 0, 1, 3, 4, 6... s
WORKERS = 4
RUN_S = 4.2  # attempts at about 0, 1, 3 and 4 s per number


def hammer(redis_url: str, until: float) -> list[tuple[str, int]]:
    """One worker: claim in a tight loop (batches of 1 to 3) until `until`; return what it got."""
    pacer = Pacer(redis.Redis.from_url(redis_url))
    got, k = [], 0
    while time.time() < until:
        k = k % 3 + 1
        result = pacer.claim(workspace_id=WS, pool_id="p", policy=POLICY, call_ids=["c"] * k)
        got += [(c.number, c.at_ms) for c in result.claims]
    return got


def test_concurrent_workers_never_break_gap_or_cap(pacer, redis_url):
    pool = numbers(5)
    pacer.rebuild(workspace_id=WS, attempts=[], pools={"p": pool})
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(WORKERS, mp_context=spawn) as workers:
        warm = [workers.submit(time.sleep, 0) for _ in range(WORKERS)]  # start every process first
        for started in warm:
            started.result()
        until = time.time() + RUN_S
        results = [workers.submit(hammer, redis_url, until) for _ in range(WORKERS)]
        claims = [claim for done in results for claim in done.result()]
    history = {n: [at for number, at in claims if number == n] for n in pool}
    assert sum(1 for got in results if got.result()) > 1, "the workers did not contend"
    assert all(len(h) >= 3 for h in history.values()), history  # every number freed up and was retaken
    assert {n: v for n, h in history.items() if (v := violations(h, POLICY))} == {}
