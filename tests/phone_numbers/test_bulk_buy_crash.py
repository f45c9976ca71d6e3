"""A bulk buy's worker killed with -9 mid-purchase, then run again: each number is bought exactly once at
the provider (the fake Twilio, through the real SDK), the purchase whose answer the kill lost is found by
its reference, and the job finishes with every number active."""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import F
from django.utils import timezone

from phone_numbers.bulk import LEASE, bulk_job_run
from phone_numbers.models import BulkJob, NumberOperation, PhoneNumber
from tenants.scope import all_workspaces, workspace_scope
from tests.helpers import database_url, wait_until
from tests.phone_numbers.test_bulk_buy import desk_on, purchases, quoted

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
BUYS = "*/IncomingPhoneNumbers.json"
RUN_JOB = "import sys, django; django.setup(); from phone_numbers.bulk import bulk_job_run; bulk_job_run(job_id=int(sys.argv[1]))"


def start_worker(job_id: int, twilio_url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "TWILIO_API_BASE_URL": twilio_url, "PYTHONPATH": str(ROOT),
           "DJANGO_SETTINGS_MODULE": "config.settings"}  # fmt: skip
    with open(log, "ab") as output:
        return subprocess.Popen(
            [sys.executable, "-c", RUN_JOB, str(job_id)], cwd=ROOT, env=env, start_new_session=True,
            stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip


def test_a_bulk_buy_killed_mid_purchase_buys_each_number_exactly_once_when_run_again(
    acme, twilio_server, settings, tmp_path
):
    with workspace_scope(acme):
        desk = desk_on(acme, "twilio", twilio_server, settings)
        job = desk.confirm(desk.quote("415", "212", quantity=5))
        wanted = sorted(e for e, _, _ in quoted(job))
    twilio_server.set_latency(0.8, method="POST", path=BUYS)  # a kill lands while Twilio is buying

    worker = start_worker(job.pk, twilio_server.base_url, tmp_path / "worker.log")
    try:
        wait_until(lambda: len(twilio_server.requests_to("POST", BUYS)) >= 3, timeout=60, every=0.01,
                   message=(tmp_path / "worker.log").read_text() if (tmp_path / "worker.log").exists() else "")  # fmt: skip
        os.killpg(worker.pid, signal.SIGKILL)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    wait_until(lambda: twilio_server.in_flight == 0, timeout=10)  # Twilio finishes the purchase it got

    with all_workspaces():
        # The kill left a purchase recorded as started, which Twilio carried out: its answer was lost.
        assert NumberOperation.objects.filter(state="started").count() == 1
        assert BulkJob.objects.get(pk=job.pk).state == "running"
        # Five minutes on, the dead run's lease has lapsed: the task's redelivery runs the job again.
        BulkJob.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
        NumberOperation.objects.update(created_at=F("created_at") - LEASE)
    bulk_job_run(job_id=job.pk)

    with all_workspaces():
        job.refresh_from_db()
        assert (job.state, job.done_count, job.failed_count) == ("done", 5, 0)
        assert sorted(purchases(twilio_server, BUYS)) == wanted  # each number asked for exactly once
        assert sorted(PhoneNumber.objects.filter(state="active").values_list("e164", flat=True)) == wanted
        assert set(NumberOperation.objects.values_list("state", flat=True)) == {"succeeded"}
        assert {i.message for i in job.items.all()} == {"Bought at Twilio."}
