"""Campaign fixtures: a workspace with sandbox numbers tagged for outbound, destinations, a dial log."""

from __future__ import annotations

import threading
import uuid

import pytest

from agents.services import agent_create
from campaigns.control import campaign_create
from campaigns.destinations import destinations_parse
from campaigns.models import Campaign, CampaignCall
from config.celery import app
from pacing.hours import ALWAYS
from pacing.services import hours_update, pacer_redis, policy_update
from phone_numbers.services import number_buy, number_link
from providers.models import ProviderConnection
from tenants.models import Environment
from tenants.scope import workspace_scope
from tests.campaigns import dial_log
from tests.helpers import owner_of, worker_in_process

DESTINATIONS = [f"+1212555{n:04d}" for n in range(100, 200)]  # fictional 555-01xx, valid for phonenumbers


@pytest.fixture(autouse=True)
def _fresh_pacer(settings):
    settings.CAMPAIGN_DIAL_DEADLINE_S = 1
    settings.CAMPAIGN_DISPATCH_BUDGET_S = 0.4
    pacer_redis().flushdb()  # the test Redis database (REDIS_URL) belongs to the tests
    yield


@pytest.fixture
def log_path(tmp_path):
    path = tmp_path / "dials.jsonl"
    dial_log.install(path)
    yield path
    dial_log.uninstall()


class Desk:
    """A workspace (acme) with a sandbox account, numbers in Live tagged "outbound", and an agent."""

    def __init__(self, workspace, count: int, tag: str = "outbound"):
        self.ws = workspace
        self.actor = owner_of(workspace)
        with workspace_scope(workspace):
            self.connection = ProviderConnection.objects.create(provider="sandbox", label="Sandbox")
            self.live = Environment.objects.get(kind="live")
            self.agent = agent_create(
                workspace=workspace, actor=None, name="Outbound", sip_destination="sip:out@voice.example"
            )
            self.numbers = [self.buy(f"+1415555{100 + i:04d}", tags=[tag]) for i in range(count)]
            # Calls go at any hour (the engine's tests run at any time of day); tests of calling hours
            # set their own (self.hours).
            self.hours(ALWAYS)

    def hours(self, hours):
        with workspace_scope(self.ws):
            return hours_update(environment=self.live, actor=self.actor, hours=hours)

    def link_on(self, server, provider: str, numbers, *, calls_per_second=1000) -> Desk:
        """Make the caller IDs `numbers`, owned at `server` (a fake Twilio or Telnyx) on one connection
        whose calls per second is `calls_per_second`: high by default, for tests that dial or redial at once
        and don't test the account's rate. Linked to Live and tagged outbound."""
        with workspace_scope(self.ws):
            self.connection = ProviderConnection.objects.create(
                provider=provider, label=provider.title(), credentials=server.credentials,
                calls_per_second=calls_per_second,
            )  # fmt: skip
            self.numbers = []
            for e164 in numbers:
                server.add_owned(e164)
                self.numbers.append(
                    number_link(
                        workspace=self.ws, actor=self.actor, connection=self.connection, environment=self.live,
                        e164=e164, tag_names=["outbound"],
                    )
                )  # fmt: skip
        return self

    def buy(self, e164: str, tags=("outbound",)):
        from phone_numbers.models import PhoneNumber

        with workspace_scope(self.ws):
            number_buy(
                workspace=self.ws, actor=self.actor, idempotency_key=uuid.uuid4().hex,
                connection=self.connection, environment=self.live, e164=e164, tag_names=list(tags),
            )  # fmt: skip
            return PhoneNumber.objects.get(e164=e164, state="active")

    def policy(self, *, gap: int = 0, cap: int = 0, window: int = 0, enabled: bool = True, daily: int = 0):
        with workspace_scope(self.ws):
            return policy_update(
                environment=self.live, actor=self.actor, enabled=enabled,
                gap_seconds=gap, windows=[(cap, window)] if cap or window else [], daily_cap=daily,
            )  # fmt: skip

    def campaign(
        self, destinations, *, tags=("outbound",), name="Spring outreach", hours=None, rules=None
    ) -> Campaign:
        csv = ("phone\n" + "\n".join(destinations) + "\n").encode()
        with workspace_scope(self.ws):
            return campaign_create(
                workspace=self.ws, actor=self.actor, name=name, environment=self.live, agent=self.agent,
                tag_names=list(tags), destinations=destinations_parse(csv), hours=hours, rules=rules,
            )  # fmt: skip

    def calls(self, campaign) -> list[CampaignCall]:
        return list(CampaignCall.unscoped.filter(campaign=campaign).order_by("row"))

    def states(self, campaign) -> dict[str, int]:
        counts: dict[str, int] = {}
        for call in self.calls(campaign):
            counts[call.state] = counts.get(call.state, 0) + 1
        return counts


@pytest.fixture
def make_desk(acme):
    return lambda count=4, **kw: Desk(acme, count, **kw)


class Beat(threading.Thread):
    """Celery beat's campaigns-dispatch entry, for a worker started in-process: enqueue every `every` s."""

    def __init__(self, every: float = 0.5):
        super().__init__(daemon=True)
        self.every, self.stopped = every, threading.Event()

    def run(self):
        from campaigns.tasks import dispatch

        while not self.stopped.is_set():
            dispatch.apply_async(expires=2)
            self.stopped.wait(self.every)

    def stop(self):
        self.stopped.set()
        self.join(5)


@pytest.fixture
def worker():
    """A Celery worker in this process (4 threads, as dial workers run) fed by beat's dispatcher ticks:
    a campaign runs end to end. Tests that need a worker in another process define their own."""
    app.control.purge()
    beat = Beat()
    with worker_in_process(app, pool="threads", concurrency=4, loglevel="WARNING"):
        beat.start()
        try:
            yield
        finally:
            beat.stop()
