"""Workers in separate processes claim from one pool on the Redis clock; no limit may break between them."""

import multiprocessing
import queue

import pytest

from pacing.pacer import Pacer, Policy
from pacing.redis_client import redis_from_url

from .audit import numbers, violations

pytestmark = pytest.mark.worker

WS = 9
POLICY = Policy(gap_s=1, windows=((2, 3),))  # both bind: a number is free at 0, 1, 3, 4, 6... s
WORKERS = 4
TAKES = 3  # per number, at about 0, 1 and 3 s: the gap and the window each freed it once
GIVE_UP_S = 60  # bounds a failure only: the run ends when every number was taken TAKES times


def hammer(redis_url: str, start, stop, claims) -> None:
    """One worker: once every worker is ready, claim in a tight loop (batches of 1 to 3) until told to stop;
    each claim goes to `claims` as (worker, number, at_ms) as soon as it is made."""
    pacer = Pacer(redis_from_url(redis_url))
    k = 0
    me = start.wait()
    while not stop.is_set():
        k = k % 3 + 1
        result = pacer.claim(workspace_id=WS, pool_id="p", policy=POLICY, call_ids=["c"] * k)
        for claim in result.claims:
            claims.put((me, claim.number, claim.at_ms))
    claims.put(None)


def test_concurrent_workers_never_break_gap_or_cap(pacer, redis_url):
    pool = numbers(5)
    pacer.rebuild(workspace_id=WS, attempts=[], pools={"p": pool})
    spawn = multiprocessing.get_context("spawn")
    start, stop, claims = spawn.Barrier(WORKERS), spawn.Event(), spawn.Queue()
    workers = [spawn.Process(target=hammer, args=(redis_url, start, stop, claims)) for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    got: list[tuple[int, str, int]] = []
    try:
        while not all(sum(1 for _, n, _ in got if n == number) >= TAKES for number in pool):
            got.append(claims.get(timeout=GIVE_UP_S))
    except queue.Empty:
        pytest.fail(f"not every number was taken {TAKES} times within {GIVE_UP_S}s: {got}")
    finally:
        stop.set()
    ended = 0
    while ended < WORKERS:  # what they claimed before they saw the stop counts too
        if (claim := claims.get(timeout=GIVE_UP_S)) is None:
            ended += 1
        else:
            got.append(claim)
    for worker in workers:
        worker.join()
    history = {n: [at for _, number, at in got if number == n] for n in pool}
    assert len({me for me, _, _ in got}) > 1, "the workers did not contend"
    assert {n: v for n, h in history.items() if (v := violations(h, POLICY))} == {}
