"""Celery runs on the real Redis broker: configuration, and tasks enqueued only after commit."""

import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import transaction

from config.celery import app
from tenants.tasks import HEARTBEAT_KEY, heartbeat
from tests.helpers import wait_until, worker_in_process


def test_reliability_settings():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.broker_url.startswith("redis")
    assert all(entry["task"] in app.tasks for entry in conf.beat_schedule.values())


def test_every_task_has_an_explicit_name():
    app.loader.import_default_modules()
    ours = [t for name, t in app.tasks.items() if not name.startswith("celery.")]
    assert ours
    for task in ours:
        assert task.name == task.name.strip() and "." in task.name
        assert not task.name.startswith(task.__module__ + "."), f"{task.name} looks auto-named"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_tasks_enqueued_after_commit():
    app.control.purge()
    with worker_in_process(app, pool="solo", concurrency=1):
        cache.delete(HEARTBEAT_KEY)
        try:
            with transaction.atomic():
                heartbeat.delay_on_commit()
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        with transaction.atomic():
            heartbeat.delay_on_commit()
        wait_until(lambda: cache.get(HEARTBEAT_KEY) is not None, message="the committed task never ran")
    # The rolled-back enqueue never reached the broker: nothing is left in the queue.
    with app.connection_for_write() as conn:
        assert conn.default_channel.client.llen("celery") == 0


ROOT = Path(__file__).resolve().parents[1]


def test_dial_workers_run_a_pool_of_threads_wherever_they_are_started():
    """Dials wait on the provider (~250 ms): the dial queue's workers keep many in flight on threads
    (tests/campaigns/test_latency.py, bench/campaign.py --provider twilio); the dispatcher stays one
    process (a tick's feed measurements are per process)."""
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    service = (
        (ROOT / "docker-compose.yml").read_text().split("\n  worker:\n", 1)[1].split("\n  dispatcher:")[0]
    )
    compose = re.search(r"command: \[(.*?)\]", service, re.S).group(1)
    for command in (procfile["worker"], re.sub(r'[",\s]+', " ", compose)):
        assert "-Q celery --pool threads --concurrency" in command, command
    assert "--pool threads" not in procfile["dispatcher"]


@pytest.mark.django_db(transaction=True)
def test_dispatcher_ticks_have_a_queue_of_their_own_and_dials_the_default_one():
    """A dispatcher tick holds its process for most of a second: it goes to `dispatch`, which its own
    worker consumes (docker-compose.yml: dispatcher), never to the queue the dial tasks share."""
    from campaigns.tasks import dial, dispatch

    app.control.purge()
    entry = app.conf.beat_schedule["campaigns-dispatch"]
    with app.connection_for_write() as conn:
        redis = conn.default_channel.client
        app.send_task(entry["task"], **entry.get("options", {}))  # as beat sends it
        dispatch.apply_async()  # as a campaign start kicks it
        dial.apply_async(args=[0, 0])
        assert (redis.llen("dispatch"), redis.llen("celery")) == (2, 1)
    app.control.purge()
    # A worker started without -Q (tests, one-off runs) consumes both.
    assert {q.name for q in app.amqp.queues.consume_from.values()} >= {"celery", "dispatch"}


@pytest.mark.django_db(transaction=True)
def test_reconcile_runs_on_the_worker_queue_on_its_own_schedule(settings):
    """Asking providers about uncertain dials may wait on their timeouts: never in the dispatcher's queue."""
    app.control.purge()
    entry = app.conf.beat_schedule["campaigns-reconcile"]
    assert entry["schedule"] == settings.CAMPAIGN_RECONCILE_EVERY_S
    with app.connection_for_write() as conn:
        redis = conn.default_channel.client
        app.send_task(entry["task"], **entry.get("options", {}))  # as beat sends it
        assert (redis.llen("dispatch"), redis.llen("celery")) == (0, 1)
    app.control.purge()


@app.task(name="tests.backend_pid")
def backend_pid(key: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        cache.set(key, cursor.fetchone()[0])


def _backend_pid_of_a_task(key: str) -> int:
    cache.delete(key)
    backend_pid.delay(key)
    return wait_until(lambda: cache.get(key), message="the task never ran")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_tasks_reuse_the_database_connection_and_replace_a_broken_one():
    """Celery's Django fixup would open a new connection for every task (a dial's cost, twice over);
    tasks keep theirs as requests do, and a connection the server dropped is replaced, not failed on."""
    from django.db import connection

    app.control.purge()
    with worker_in_process(app, pool="solo", concurrency=1):
        first = _backend_pid_of_a_task("pid-1")
        assert first is not None
        assert _backend_pid_of_a_task("pid-2") == first
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [first])
        replaced = _backend_pid_of_a_task("pid-3")
        assert replaced is not None and replaced != first


@pytest.mark.django_db(transaction=True)
def test_numbers_reconcile_runs_on_the_maintenance_queue_and_its_own_worker(settings):
    """Reconciling lists every number of every account: it runs on a worker of its own that is replaced when it
    grows (Procfile, docker-compose.yml: maintenance), never in a dial worker's threads, whose memory would keep
    what it held (bench/campaign.py: 200,000 calls grew the dial worker with reconcile on its queue)."""
    app.control.purge()
    entry = app.conf.beat_schedule["reconcile-numbers"]
    assert entry["task"] in settings.MAINTENANCE_TASKS
    with app.connection_for_write() as conn:
        redis = conn.default_channel.client
        app.send_task(entry["task"], **entry.get("options", {}))  # as beat sends it
        assert (redis.llen("maintenance"), redis.llen("celery"), redis.llen("dispatch")) == (1, 0, 0)
    app.control.purge()
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    service = (
        (ROOT / "docker-compose.yml").read_text().split("\n  maintenance:\n", 1)[1].split("\n  beat:")[0]
    )
    compose = re.sub(r'[",\s]+', " ", re.search(r"command: \[(.*?)\]", service, re.S).group(1))
    for command in (procfile["maintenance"], compose):
        assert "-Q maintenance " in command and "--max-memory-per-child" in command, command
    assert "maintenance" not in procfile["worker"] and "maintenance" not in procfile["dispatcher"]
    assert {q.name for q in app.amqp.queues.consume_from.values()} >= {"celery", "dispatch", "maintenance"}
