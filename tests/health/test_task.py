"""The sweep runs from beat on the maintenance queue, in a real worker."""

from __future__ import annotations

import pytest
from django.utils import timezone

from config.celery import app
from phone_numbers.models import PhoneNumber
from tests.health.conftest import DESTINATIONS, seed_calls
from tests.helpers import wait_until, worker_in_process


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_beat_sends_the_sweep_to_the_maintenance_queue_and_a_worker_rests_a_burning_number(
    make_desk, settings
):
    settings.HEALTH = {**settings.HEALTH, "min_calls": 30}
    desk = make_desk(4)
    campaign = desk.campaign(DESTINATIONS[:3])
    now = timezone.now()
    for number, answered in zip(desk.numbers, (60, 62, 58, 2), strict=True):
        seed_calls(campaign, number, calls=200, answered=answered, end=now)
    bad = desk.numbers[3]

    app.control.purge()
    entry = app.conf.beat_schedule["health-sweep"]
    assert entry["schedule"] == settings.HEALTH_EVERY_S
    with app.connection_for_write() as conn:
        redis = conn.default_channel.client
        app.send_task(entry["task"], **entry.get("options", {}))  # as beat sends it
        assert (redis.llen("maintenance"), redis.llen("celery"), redis.llen("dispatch")) == (1, 0, 0)
    with worker_in_process(app, pool="solo", concurrency=1, loglevel="WARNING"):
        wait_until(lambda: PhoneNumber.unscoped.get(pk=bad.pk).health == "resting", message="the sweep ran")
    assert PhoneNumber.unscoped.get(pk=bad.pk).health_reason.endswith(
        "Answer rate 1 % over the last 200 calls against 30 % for the pool."
    )
