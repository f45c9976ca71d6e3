"""Number reputation: each workspace's schedule of fresh checks (never, by default: the provider charges
for each) and the refresh that keeps NumberReputation up to it. Reads: selectors.reputation_of.

A refresh asks only for what is due, and claims each number's row with one guarded UPDATE before it asks
the provider (never inside a transaction), so two refreshes running at once pay for a number once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from phone_numbers.models import NumberReputation, PhoneNumber, ReputationSchedule
from providers import registry
from providers.adapters.base import ProviderAdapter, ProviderError, ProviderUnavailable, Reputation
from providers.services import connection_adapter
from tenants.audit import audit
from tenants.models import Workspace
from tenants.scope import all_workspaces, current_workspace, workspace_scope

# A claim whose run died (or whose provider was unavailable) lapses after this long: the number is due
# again then, not a whole period later.
CLAIM_LAPSES = timedelta(hours=1)
# Numbers one workspace's refresh checks per run at most; the rest are due on the next run.
REFRESH_BATCH = 500


def reputation_schedule() -> ReputationSchedule:
    """The workspace's schedule; an unsaved "never" where none was set."""
    return ReputationSchedule.objects.first() or ReputationSchedule(every_days=ReputationSchedule.Every.NEVER)


def reputation_schedule_set(*, every_days: int, actor) -> ReputationSchedule:
    if every_days not in ReputationSchedule.Every.values:
        raise ValueError(f"every_days must be one of {ReputationSchedule.Every.values}, not {every_days!r}")
    with transaction.atomic():
        schedule, _ = ReputationSchedule.objects.select_for_update().get_or_create(
            workspace=current_workspace()
        )
        before = schedule.get_every_days_display()
        if schedule.every_days != every_days:
            schedule.every_days = every_days
            schedule.save(update_fields=["every_days", "updated_at"])
            audit(
                actor=actor,
                action="reputation.schedule_changed",
                target=schedule,
                changed={"checks": [before, schedule.get_every_days_display()]},
            )
    return schedule


def offering_providers() -> list[str]:
    return [p.key for p in registry.providers() if p.offers_reputation]


def numbers_due(*, now: datetime | None = None) -> QuerySet[PhoneNumber]:
    """The workspace's active numbers on a provider with a feed whose last check is older than the
    schedule's period (or that were never checked), not claimed by a refresh running now."""
    now = now or timezone.now()
    every = reputation_schedule().every_days
    if not every:
        return PhoneNumber.objects.none()
    return PhoneNumber.objects.filter(
        _due(now, every, prefix="reputation__") | Q(reputation__isnull=True),
        state=PhoneNumber.State.ACTIVE,
        connection__provider__in=offering_providers(),
    )


def _due(now: datetime, every_days: int, *, prefix: str = "") -> Q:
    stale = Q(**{f"{prefix}fetched_at__isnull": True}) | Q(
        **{f"{prefix}fetched_at__lte": now - timedelta(days=every_days)}
    )
    free = Q(**{f"{prefix}claimed_at__isnull": True}) | Q(**{f"{prefix}claimed_at__lte": now - CLAIM_LAPSES})
    return stale & free


def reputation_refresh(*, now: datetime | None = None) -> int:
    """Fresh checks of the workspace's due numbers; returns how many were checked."""
    now = now or timezone.now()
    every = reputation_schedule().every_days
    due = list(numbers_due(now=now).select_related("connection").order_by("pk")[:REFRESH_BATCH])
    NumberReputation.objects.bulk_create(
        [NumberReputation(workspace_id=n.workspace_id, number=n, source=n.connection.provider) for n in due],
        ignore_conflicts=True,
    )
    adapters: dict[int, ProviderAdapter] = {}
    checked = 0
    for number in due:
        claimed = NumberReputation.objects.filter(_due(now, every), number=number).update(claimed_at=now)
        if not claimed:
            continue  # another refresh has it, or checked it a moment ago
        adapter = adapters.get(number.connection_id) or connection_adapter(number.connection)
        adapters[number.connection_id] = adapter
        try:
            found = adapter.reputation(number.e164, fresh=True)
        except ProviderUnavailable:
            continue  # the claim lapses and the number is asked about again
        except ProviderError as exc:
            # Permanent (credentials, no feed): asking again before the next period would fail the same.
            NumberReputation.objects.filter(number=number).update(
                why=exc.message[:200], fetched_at=now, claimed_at=None
            )
            continue
        _record(number, found, source=number.connection.provider, now=now)
        checked += 1
    return checked


def _record(number: PhoneNumber, found: Reputation, *, source: str, now: datetime) -> None:
    with transaction.atomic():
        row = NumberReputation.objects.select_for_update().get(number=number)
        before = (row.level, row.flagged)
        row.level, row.flagged, row.category = found.level, found.flagged, found.category[:80]
        row.why, row.checked_at, row.source = found.why[:200], found.checked_at, source
        row.fetched_at, row.claimed_at = now, None
        row.save()
        if (row.level, row.flagged) != before and row.level != NumberReputation.Level.UNKNOWN:
            audit(
                actor=None,
                action="number.reputation_changed",
                target=number,
                category=row.category,
                changed={"reputation": [NumberReputation.Level(before[0]).label, row.get_level_display()]},
            )


def refresh_all(*, now: datetime | None = None) -> int:
    """Every workspace with a schedule: what the beat task runs."""
    with all_workspaces():
        ids = ReputationSchedule.objects.exclude(every_days=0).values_list("workspace_id", flat=True)
        workspaces = list(Workspace.objects.filter(pk__in=ids))
    checked = 0
    for workspace in workspaces:
        with workspace_scope(workspace):
            checked += reputation_refresh(now=now)
    return checked
