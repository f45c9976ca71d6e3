"""Fault tests: a worker killed with -9 mid-campaign, and Redis restarted with its data lost mid-campaign.

The worker runs as a subprocess with embedded beat (the production dispatcher schedule); its sandbox
provider logs each dial to a file, the provider's log every window is checked against. Each test ends
with every destination placed exactly once, none lost, and no window exceeded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.db import connection

from campaigns.control import campaign_start
from campaigns.models import CallAttempt, Campaign, CampaignCall
from tests.campaigns import dial_log
from tests.campaigns.conftest import DESTINATIONS
from tests.helpers import wait_until

# Each test runs over both stores of the engine (tests/conftest.py: engine_store).
pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("engine_store"),
]
ROOT = Path(__file__).resolve().parents[2]
GAP, CAP, WINDOW = 1, 2, 4


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, tmp: Path, redis_url: str, log_path: Path):
        self.tmp, self.redis_url, self.log_path = tmp, redis_url, log_path
        self.process: subprocess.Popen | None = None

    def start(self, **settings: str) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": self.redis_url,
            "PACER_REDIS_URL": self.redis_url,
            dial_log.ENV: str(self.log_path),
            dial_log.DELAY_ENV: "0.4",  # a provider taking 0.4 s per dial: a kill can land mid-dial
            "CAMPAIGN_DIAL_DEADLINE_S": "1",
            "CAMPAIGN_RESERVED_TIMEOUT_S": "3",
            "CAMPAIGN_DIALING_TIMEOUT_S": "3",
            "CAMPAIGN_RECONCILE_EVERY_S": "1",  # beat's reconcile task: a call left mid-dial is asked about soon
            "CAMPAIGN_DISPATCH_BUDGET_S": "0.4",
            "DATABASE_CONN_MAX_AGE": "0",
            "PYTHONPATH": str(ROOT),
            **settings,
        }
        with open(self.tmp / "worker.log", "ab") as output:  # the child keeps its own copy
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "tests/campaigns/worker_main.py"), str(self.tmp / "beat-schedule")],
                cwd=ROOT, env=env, start_new_session=True, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)  # the worker, its pool processes and its beat
        self.process.wait(10)
        wait_until(lambda: not _group_alive(self.process.pid), message="the worker's pool outlived it")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.kill()


class PrivateRedis:
    """A Redis server of the test's own, so it can be restarted without touching anyone else's."""

    def __init__(self, tmp: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.tmp, self.process = tmp, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.tmp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _pings(client), timeout=10)

    def restart(self) -> None:
        """Stopped without saving and started again: every key is gone and the run id is new."""
        self.process.kill()
        self.process.wait(10)
        self.start()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (zombies waiting to be reaped do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except OSError:
            continue  # it ended while we looked
        if int(group) == pgid and state != "Z":
            return True
    return False


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


@pytest.fixture
def private_redis(tmp_path, settings):
    server = PrivateRedis(tmp_path)
    server.start()
    settings.PACER_REDIS_URL = server.url
    yield server
    server.stop()


@pytest.fixture
def worker(tmp_path, private_redis):
    log_path = tmp_path / "dials.jsonl"
    w = Worker(tmp_path, private_redis.url, log_path)
    yield w
    w.stop()


def run_campaign(desk, count: int):
    desk.policy(gap=GAP, cap=CAP, window=WINDOW)
    destinations = DESTINATIONS[:count]
    campaign = desk.campaign(destinations)
    campaign_start(campaign=campaign, actor=desk.actor)
    return campaign, destinations


def assert_placed_exactly_once(desk, campaign, destinations, log_path):
    def done():
        campaign.refresh_from_db()
        return campaign.state == Campaign.State.FINISHED

    wait_until(done, timeout=60, message=f"not finished: {desk.states(campaign)}")
    dials = dial_log.read(log_path)
    assert sorted(d.to_e164 for d in dials) == sorted(destinations), "a destination dialed twice or never"
    calls = desk.calls(campaign)
    assert {c.state for c in calls} == {CampaignCall.State.PLACED}
    assert {c.provider_call_id for c in calls} == {d.call_id for d in dials}
    assert dial_log.violations(dials, gap_s=GAP, cap=CAP, window_s=WINDOW) == []


def test_a_worker_killed_mid_campaign_loses_no_call_and_dials_none_twice(make_desk, worker):
    desk = make_desk(4)
    campaign, destinations = run_campaign(desk, 24)
    worker.start()
    wait_until(lambda: len(dial_log.read(worker.log_path)) >= 4, timeout=30, message="no dials")
    dialing = CampaignCall.unscoped.filter(campaign=campaign, state="dialing")
    wait_until(dialing.exists, timeout=10, every=0.01, message="never caught a call mid-dial")
    worker.kill()
    assert dialing.exists()  # left mid-dial: the provider may or may not have placed it
    worker.start()
    assert_placed_exactly_once(desk, campaign, destinations, worker.log_path)


def test_redis_restarted_mid_campaign_rebuilds_pacing_and_loses_no_call(make_desk, worker, private_redis):
    desk = make_desk(4)
    campaign, destinations = run_campaign(desk, 24)
    worker.start()
    wait_until(lambda: len(dial_log.read(worker.log_path)) >= 6, timeout=30, message="no dials")
    private_redis.restart()  # pacing state, queued and unacknowledged tasks: all gone
    assert_placed_exactly_once(desk, campaign, destinations, worker.log_path)


def test_after_redis_loses_its_data_dialing_resumes_without_the_recovery_sweep(
    make_desk, worker, private_redis
):
    """The dial workers are the bottleneck, so calls are always queued for them when Redis loses its data
    (their tasks with it). The recovery sweep is an hour away: the campaign finishes only if the pacer's
    rebuild puts those calls back to waiting itself."""
    desk = make_desk(16)  # the policy allows 8 calls/s; two dial processes at 0.4 s a dial place 5
    campaign, destinations = run_campaign(desk, 40)
    worker.start(CAMPAIGN_RESERVED_TIMEOUT_S="3600")
    wait_until(lambda: len(dial_log.read(worker.log_path)) >= 6, timeout=30, message="no dials")
    reserved = CampaignCall.unscoped.filter(campaign=campaign, state="reserved")
    wait_until(reserved.exists, timeout=10, every=0.01, message="never caught a call queued for the workers")
    restarted_at = time.time()
    private_redis.restart()
    assert_placed_exactly_once(desk, campaign, destinations, worker.log_path)
    claimed_after = {
        f"dialtone-call-{a.call_id}-{a.pk}"
        for a in CallAttempt.unscoped.filter(campaign=campaign, at_ms__gt=restarted_at * 1000)
    }
    first = min(d.at for d in dial_log.read(worker.log_path) if d.reference in claimed_after)
    print(
        f"recovery after the Redis restart: first newly claimed call dialed {first - restarted_at:.2f} s later"
    )
