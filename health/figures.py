"""Each number's rolling figures, computed in SQL: one statement per environment and chunk of numbers ranks
their settled attempts newest first (a window function over the attempt_settled_by_number index) and
counts the last N and the N before them; another counts attempts of the last 24 hours. Nothing loops over
calls in Python. Portable SQL (PostgreSQL; SQLite for `make run`)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count

from campaigns.models import CallAttempt
from health.models import NumberFigures
from health.rules import Figures
from phone_numbers.models import PhoneNumber

# Calls older than this never count (and bound the window function's reading).
LOOKBACK = timedelta(days=30)
CHUNK = 500

_RANKED = """
WITH ranked AS (
    SELECT a.number_id, a.outcome, a.answered, a.duration_s,
           ROW_NUMBER() OVER (PARTITION BY a.number_id ORDER BY a.at DESC, a.id DESC) AS rn
    FROM {attempts} a JOIN {numbers} n ON n.id = a.number_id
    WHERE a.number_id IN ({ids}) AND a.outcome <> '' AND a.outcome <> 'unknown'
      AND a.at >= %s AND (n.returned_at IS NULL OR a.at >= n.returned_at)
)
SELECT number_id,
       SUM(CASE WHEN rn <= %s THEN 1 ELSE 0 END),
       SUM(CASE WHEN rn <= %s AND answered THEN 1 ELSE 0 END),
       SUM(CASE WHEN rn <= %s AND answered AND duration_s < 10 THEN 1 ELSE 0 END),
       SUM(CASE WHEN rn <= %s AND outcome = 'failed' THEN 1 ELSE 0 END),
       SUM(CASE WHEN rn > %s THEN 1 ELSE 0 END),
       SUM(CASE WHEN rn > %s AND answered THEN 1 ELSE 0 END)
FROM ranked WHERE rn <= %s GROUP BY number_id
"""


def figures_compute(number_ids: Iterable[int], *, last_calls: int, now: datetime) -> dict[int, Figures]:
    """number id -> its figures over its last `last_calls` settled calls (and the as many before them),
    since its last rest and within LOOKBACK. Numbers without settled calls get zeros."""
    ids = list(number_ids)
    found = {pk: Figures(0, 0, 0, 0) for pk in ids}
    day = dict(
        CallAttempt.unscoped.filter(number_id__in=ids, at__gte=now - timedelta(days=1))
        .values("number_id")
        .annotate(n=Count("id"))
        .values_list("number_id", "n")
    )
    n = last_calls
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        sql = _RANKED.format(  # table names from the models; every value a parameter
            attempts=CallAttempt._meta.db_table,
            numbers=PhoneNumber._meta.db_table,
            ids=", ".join(["%s"] * len(chunk)),
        )
        with connection.cursor() as cursor:
            since = connection.ops.adapt_datetimefield_value(now - LOOKBACK)  # SQLite stores text
            cursor.execute(sql, [*chunk, since, n, n, n, n, n, n, 2 * n])
            for number_id, *counts in cursor.fetchall():
                calls, answered, short, failed, past_calls, past_answered = (int(c or 0) for c in counts)
                found[number_id] = Figures(calls, answered, short, failed, past_calls, past_answered)
    return {pk: _with_day(f, day.get(pk, 0)) for pk, f in found.items()}


def _with_day(f: Figures, attempts_day: int) -> Figures:
    return Figures(f.calls, f.answered, f.short, f.failed, f.past_calls, f.past_answered, attempts_day)


def figures_store(numbers: list[PhoneNumber], figures: dict[int, Figures], now: datetime) -> None:
    """Keep the numbers' figures for the pool medians of later sweeps (one upsert)."""
    rows = [
        NumberFigures(
            number_id=n.pk,
            workspace_id=n.workspace_id,
            environment_id=n.environment_id,
            computed_at=now,
            **vars(figures[n.pk]),
        )  # fmt: skip
        for n in numbers
    ]
    NumberFigures.unscoped.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["number"],
        update_fields=[
            "environment_id", "calls", "answered", "short", "failed", "past_calls", "past_answered",
            "attempts_day", "computed_at",
        ],
    )  # fmt: skip


# A pool median needs a few numbers: of one or two, the number would mostly be compared with itself.
MEDIAN_FROM = 3


def pool_median(environment_id: int, *, min_calls: int) -> float | None:
    """The median answer rate of the environment's active numbers judged on enough calls; None with fewer
    than MEDIAN_FROM of them. One read per environment and sweep."""
    rows = NumberFigures.unscoped.filter(
        environment_id=environment_id, calls__gte=min_calls, number__state=PhoneNumber.State.ACTIVE
    ).values_list("answered", "calls")
    rates = [answered / calls for answered, calls in rows]
    return statistics.median(rates) if len(rates) >= MEDIAN_FROM else None
