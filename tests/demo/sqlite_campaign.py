"""A paced campaign end to end on the SQLite demo database, in this process: the campaign engine over its
portable store (campaigns/store/orm.py) on SQLite, where row locks are BEGIN IMMEDIATE's one writer, and
the pacer's rebuild from the recorded attempts.

Run by tests/demo/test_sqlite_campaign.py against a freshly migrated SQLite file; by hand:

    DATABASE_URL=sqlite:////tmp/demo.sqlite3 REDIS_URL=redis://127.0.0.1:6379/8 \
        .venv/bin/python manage.py migrate
    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m tests.demo.sqlite_campaign

The Redis database (REDIS_URL, or PACER_REDIS_URL) holds the pacing state and must not hold another
run's. This process plays beat, the dispatcher and the dial workers: it calls `campaigns_dispatch()`
like beat's tick (one batch per tick; between ticks it waits for a call to come due, on the pacer's
word, never a fixed time) and runs every dial task the dispatcher publishes, read from the broker queue as a
worker would (an in-memory broker: nothing is left in Redis), each delivered twice, as acks_late allows
after a lost worker. Dialtone's own code is not patched. Exits 1, saying which checks failed, if a
destination was not dialed exactly once, a caller ID broke the policy, the campaign did not finish, or
the pacing state rebuilt from the database differs from the one the claims left in Redis.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections import Counter

import django

NUMBERS = 3
DESTINATIONS = 9
# Seconds-scale, so the run takes seconds: every number calls 3 times, and both the gap and the cap
# hold a number back (claims are spaced by the policy widened by the dial deadline: 2 s and 2 per 5 s).
GAP_S, CAP, WINDOW_S = 1, 2, 4
DIAL_DEADLINE_S = 1  # as tests/campaigns/conftest.py's _fresh_pacer
# Failure bounds only: the run takes seconds and a few ticks per destination.
GIVE_UP_AFTER_S, GIVE_UP_AFTER_TICKS = 60, 20 * DESTINATIONS


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["CAMPAIGN_DIAL_DEADLINE_S"] = str(DIAL_DEADLINE_S)
    django.setup()

    from django.db import connection

    from config.celery import app

    if connection.vendor != "sqlite":
        print(f"this drives the SQLite demo's paths; DATABASE_URL is {connection.vendor}", file=sys.stderr)
        return 2
    app.conf.broker_url = "memory://localhost/"  # the dispatcher's dial tasks stay in this process

    desk, campaign, destinations = _set_up()
    outcomes = _drive(app, campaign)
    problems = _check(desk, campaign, destinations, outcomes)
    for problem in problems:
        print(f"FAILED: {problem}")
    if not problems:
        print(
            f"OK: {len(destinations)} destinations dialed once each from {NUMBERS} numbers within the policy"
        )
    return 1 if problems else 0


def _set_up():
    from django.contrib.auth import get_user_model

    from campaigns.control import campaign_start
    from tenants.models import Plan
    from tenants.scope import all_workspaces
    from tenants.services import workspace_create
    from tests.campaigns.conftest import DESTINATIONS as NUMBERS_TO_CALL
    from tests.campaigns.conftest import Desk

    with all_workspaces():
        plan, _ = Plan.objects.get_or_create(name="Demo test", defaults={"managed_number_limit": 10})
        owner = get_user_model().objects.create_user(username=f"owner-{uuid.uuid4().hex[:8]}")
        workspace = workspace_create(name="Acme SQLite", slug="acme-sqlite", plan=plan, owner=owner)
    desk = Desk(workspace, NUMBERS)  # a sandbox connection, numbers in Live tagged "outbound", an agent
    desk.policy(gap=GAP_S, cap=CAP, window=WINDOW_S)
    destinations = NUMBERS_TO_CALL[:DESTINATIONS]
    campaign = desk.campaign(destinations)
    campaign_start(campaign=campaign, actor=desk.actor)
    return desk, campaign, destinations


def _drive(app, campaign) -> Counter:
    """Beat's ticks and the workers' dials until the campaign is over: what each delivery returned."""
    from campaigns.dial import calls_dial
    from campaigns.dispatch import campaigns_dispatch
    from campaigns.models import Campaign
    from tests.helpers import wait_until

    outcomes: Counter = Counter()
    with app.connection_for_read() as conn:
        queues = {name: conn.SimpleQueue(app.amqp.queues[name]) for name in ("celery", "dispatch")}
        for _ in range(GIVE_UP_AFTER_TICKS):
            campaigns_dispatch(batches=1)  # beat's tick (and start's kick, drained below: the same tick)
            for name, task, args in _delivered(queues):
                if task == "campaigns.dial_chunk":
                    (chunk,) = args
                    for _ in range(2):  # acks_late: a task may be delivered again; it must do nothing
                        for outcome, count in calls_dial([tuple(job) for job in chunk]).items():
                            outcomes[str(outcome)] += count
                elif task != "campaigns.dispatch":
                    raise AssertionError(f"unexpected task {task} on queue {name}")
            if Campaign.unscoped.get(pk=campaign.pk).state != Campaign.State.RUNNING:
                break
            wait_until(lambda: _a_call_is_due(campaign), timeout=GIVE_UP_AFTER_S, every=0.02)
        for queue in queues.values():
            queue.close()
    return outcomes


def _a_call_is_due(campaign) -> bool:
    """A waiting call's time (its not_before, the pacer's word) has come, or no call is left waiting."""
    from django.utils import timezone

    from campaigns.models import CampaignCall

    waiting = CampaignCall.unscoped.filter(campaign_id=campaign.pk, state=CampaignCall.State.PENDING)
    return not waiting.exists() or waiting.filter(not_before__lte=timezone.now()).exists()


def _delivered(queues):
    """Every message published so far, as a worker receives it: (queue, task name, args)."""
    from queue import Empty

    for name, queue in queues.items():
        while True:
            try:
                message = queue.get_nowait()
            except Empty:
                break
            args, _kwargs, _embed = message.decode()
            message.ack()
            yield name, message.headers["task"], args


def _check(desk, campaign, destinations, outcomes: Counter) -> list[str]:
    from campaigns.models import CallAttempt, Campaign, CampaignCall
    from pacing.models import PacingPolicy
    from pacing.services import pacer_policy
    from providers.sandbox.store import placed_calls
    from tests.campaigns import dial_log

    problems = []
    campaign = Campaign.unscoped.get(pk=campaign.pk)
    calls = list(CampaignCall.unscoped.filter(campaign=campaign).order_by("row"))
    states = Counter(c.state for c in calls)
    print(f"campaign {campaign.state}; calls {dict(states)}; dial deliveries {dict(outcomes)}")
    if campaign.state != Campaign.State.FINISHED or not campaign.finished_at:
        problems.append(f"the campaign is {campaign.state}, not finished, after {GIVE_UP_AFTER_TICKS} ticks")
    if states != Counter({CampaignCall.State.PLACED: len(destinations)}):
        problems.append(f"not every call was placed: {dict(states)}")

    placed = placed_calls(desk.connection)  # what the provider saw (its records, in the database)
    dialed = Counter(c.to_e164 for c in placed)
    if dialed != Counter(destinations):
        twice = sorted(n for n, k in dialed.items() if k > 1)
        never = sorted(set(destinations) - set(dialed))
        problems.append(f"not every destination dialed exactly once: twice {twice}, never {never}")
    if {c.provider_call_id for c in calls} != {c.call_id for c in placed}:
        problems.append("the calls' provider ids are not the provider's calls")
    for call in calls:
        if call.state == CampaignCall.State.PLACED and not (call.attempt_id and call.dialing_at):
            problems.append(f"{call.to_e164} placed without its attempt or dial time")

    # The claims (CallAttempt, on the pacer's clock) keep the policy widened by the dial deadline, and
    # the dials (dialing_at) keep the policy itself (pacing/services.py: pacer_policy).
    policy = pacer_policy(PacingPolicy.unscoped.get(environment=desk.live))
    attempts = [
        dial_log.Dial(a.at_ms / 1000, a.e164, "", "", "")
        for a in CallAttempt.unscoped.filter(campaign=campaign).order_by("at_ms")
    ]
    if len(attempts) < len(destinations):
        problems.append(f"{len(attempts)} attempts recorded for {len(destinations)} destinations")
    for cap, window_s in policy.windows or ((0, 0),):
        for v in dial_log.violations(attempts, gap_s=policy.gap_s, cap=cap, window_s=window_s):
            problems.append(f"claims break the pacer's policy {policy}: {v}")
    dials = [
        dial_log.Dial(c.dialing_at.timestamp(), c.from_e164, c.to_e164, "", "")
        for c in calls
        if c.state == CampaignCall.State.PLACED
    ]
    for v in dial_log.violations(dials, gap_s=GAP_S, cap=CAP, window_s=WINDOW_S):
        problems.append(f"dials break the policy: {v}")
    if len({d.from_e164 for d in dials}) != NUMBERS:
        problems.append(
            f"the pool's {NUMBERS} numbers did not share the calls: {Counter(d.from_e164 for d in dials)}"
        )
    problems += _rebuilt_state_differs(desk, policy)
    return problems


def _rebuilt_state_differs(desk, policy) -> list[str]:
    """Redis loses the workspace's pacing state: rebuilt from the recorded attempts (the dispatcher's
    pacer_ensure_ready, a raw query on SQLite too), it must pace every number as the claims left it."""
    from campaigns.pools import pacer_ensure_ready
    from pacing.services import pacer, pacer_now_ms, pacer_redis

    numbers, now_ms = [n.e164 for n in desk.numbers], pacer_now_ms()

    def states():
        return pacer().number_states(workspace_id=desk.ws.pk, numbers=numbers, policy=policy, now_ms=now_ms)

    before = states()
    pacer_redis().delete(f"{{ws:{desk.ws.pk}}}:pacer")  # the numbers' logs and the ready marker
    pacer_ensure_ready(desk.ws.pk)
    after = states()
    if after == before:
        return []
    return [
        f"rebuilt from the attempts, {n} is paced as {after[n]}, not {before[n]}"
        for n in numbers
        if after[n] != before[n]
    ]


if __name__ == "__main__":
    sys.exit(main())
