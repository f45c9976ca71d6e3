"""Health fixtures: the campaigns' desk (a workspace with sandbox numbers tagged for outbound) and a way to
seed a number's call history as settled attempts, the rows the health sweep reads."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from campaigns.models import CallAttempt, CampaignCall
from pacing.services import pacer_redis
from tests.campaigns.conftest import DESTINATIONS, Desk

__all__ = ["DESTINATIONS", "seed_calls"]


@pytest.fixture(autouse=True)
def _fresh_pacer(settings):
    settings.CAMPAIGN_DIAL_DEADLINE_S = 1
    pacer_redis().flushdb()  # the test Redis database (REDIS_URL) belongs to the tests
    yield


@pytest.fixture
def make_desk(acme):
    return lambda count=4, **kw: Desk(acme, count, **kw)


def seed_calls(
    campaign,
    number,
    *,
    calls: int,
    answered: int,
    short: int = 0,
    failed: int = 0,
    end: datetime,
    every: timedelta = timedelta(minutes=1),
) -> None:
    """`calls` settled attempts from `number`, the newest at `end`, one `every` apart: the first `answered`
    (newest first) answered, `short` of them under 10 s; then `failed` failed; the rest no-answer."""
    call = CampaignCall.unscoped.filter(campaign=campaign).first()
    rows = []
    for i in range(calls):
        at = end - i * every
        if i < answered:
            outcome, was_answered, duration = "completed", True, 5 if i < short else 60
        elif i < answered + failed:
            outcome, was_answered, duration = "failed", False, None
        else:
            outcome, was_answered, duration = "no-answer", False, None
        rows.append(
            CallAttempt(
                workspace_id=campaign.workspace_id, call=call, campaign=campaign, number=number,
                e164=number.e164, at_ms=int(at.timestamp() * 1000), at=at, to_e164=call.to_e164, dialed=True,
                outcome=outcome, answered=was_answered, duration_s=duration, settled_at=at,
            )
        )  # fmt: skip
    CallAttempt.unscoped.bulk_create(rows)
