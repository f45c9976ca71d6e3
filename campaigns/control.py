"""Campaign control: create, start, pause, resume, cancel and requeue; and the reading of a long
destination list by a worker."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from campaigns.destinations import Destinations, destinations_parse, rows_estimated
from campaigns.dispatch import _pool_delete
from campaigns.models import Campaign, CampaignCall, DestinationUpload
from campaigns.pools import _tag_ids, campaign_pool, pool_numbers, pool_queryset
from campaigns.rules import AttemptRules
from campaigns.store import Call, State
from pacing.hours import Hours, zones_for
from pacing.selectors import policy_of
from phone_numbers.models import Tag
from phone_numbers.selectors import tags_named
from phone_numbers.tags import clean_tag_names
from tenants.audit import audit

log = logging.getLogger(__name__)


class CampaignRefused(Exception):
    """A request the product refuses, with a sentence for the person who asked."""


def campaign_create(
    *,
    workspace,
    actor,
    name: str,
    environment,
    agent,
    tag_names: list[str],
    destinations: Destinations | bytes,
    hours: Hours | None = None,
    rules: AttemptRules | None = None,
    local_presence: bool = False,
) -> Campaign:
    """A draft campaign with one pending call per destination. Refuses lists with invalid rows, and its own
    calling hours (`hours`; None: the environment's) when they never open or widen the environment's, and
    attempt rules (`rules`: caps and retries; None: the defaults) that contradict themselves.

    A long list comes as the file's bytes: the campaign is created with it waiting in a DestinationUpload,
    and a worker reads it (campaign_destinations_load); the campaign can't start until it has."""
    waiting = destinations if isinstance(destinations, bytes) else None
    if waiting is not None:
        destinations = Destinations(numbers=(), errors=(), duplicates=0)
    if destinations.errors:
        raise ValidationError(
            f"{len(destinations.errors)} rows are not phone numbers; fix them and upload again."
        )
    names = clean_tag_names(tag_names)
    if not names:
        raise ValidationError({"tags": "Choose at least one tag: numbers carrying it are the caller IDs."})
    tags = list(tags_named(names))
    unknown = sorted({n.lower() for n in names} - {t.name.lower() for t in tags})
    if unknown:
        raise ValidationError(
            {"tags": f"No number carries the tag{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}."}
        )
    if not pool_queryset(workspace_id=workspace.pk, environment_id=environment.pk, tag_ids=tags).exists():
        raise ValidationError(
            {"tags": _no_caller_ids(environment, tags) + " Tag numbers on the Numbers page first."}
        )
    if hours is not None:
        _refuse_wider_hours(hours, policy_of(environment).hours, environment)
    rules = rules or AttemptRules()
    if problem := rules.problem():
        raise ValidationError({"rules": problem})
    now = timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.create(
            workspace=workspace,
            name=" ".join(name.split()),
            environment=environment,
            agent=agent,
            agent_name=agent.name if agent else "",
            destinations=len(destinations.numbers),
            duplicates_skipped=destinations.duplicates,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            hours_days=hours and hours.days,
            hours_start_s=hours and hours.start_s,
            hours_end_s=hours and hours.end_s,
            **rules.as_fields(),
            local_presence=local_presence,
        )
        campaign.tags.set(tags)
        _calls_create(campaign, destinations, now=now)
        if waiting is not None:
            upload = DestinationUpload.objects.create(
                workspace=workspace, campaign=campaign, data=waiting, rows_estimated=rows_estimated(waiting)
            )
            transaction.on_commit(lambda: _enqueue_load(upload.pk))
        audit(
            actor=actor,
            action="campaign.created",
            target=campaign,
            environment=environment.kind,
            agent=agent.name if agent else "",
            destinations=len(destinations.numbers) if waiting is None else "being read",
            duplicates_skipped=destinations.duplicates,
            tags=[t.name for t in tags],
            calling_hours=hours.describe() if hours else "the environment's",
            attempts=rules.describe(),
            local_presence="on" if local_presence else "off",
        )
    return campaign


def _refuse_wider_hours(hours: Hours, outer: Hours, environment) -> None:
    problem = hours.problem()
    if problem is None and (wider := hours.widens(outer)):
        problem = (
            f"A campaign's calling hours may only be stricter than {environment}'s ({outer.describe()}): "
            f"these would also call {wider}."
        )
    if problem:
        raise ValidationError({"hours": problem})


def _calls_create(campaign: Campaign, destinations: Destinations, *, now) -> None:
    """One pending call per destination, each with its time zones (an index of campaign.zones), computed
    here once rather than by the dispatcher at every batch (pacing/hours.py)."""
    groups: dict[tuple[str, ...], int] = {}
    CampaignCall.unscoped.bulk_create(
        (
            CampaignCall(
                workspace_id=campaign.workspace_id, campaign=campaign, to_e164=e164, row=row, not_before=now,
                zone=groups.setdefault(zones_for(e164), len(groups)),
            )
            for row, e164 in destinations.numbers
        ),
        batch_size=2000,
    )  # fmt: skip
    campaign.zones = [list(zones) for zones in groups]
    Campaign.unscoped.filter(pk=campaign.pk).update(zones=campaign.zones)


def _enqueue_load(upload_id: int) -> None:
    from campaigns.tasks import load_destinations

    load_destinations.delay(upload_id)


def campaign_destinations_load(*, upload_id: int) -> None:
    """A worker reads a long destination list: progress is written as it goes; then the calls are written
    and the upload deleted in one transaction, or, when the list can't be read, the upload keeps the reason
    and no call is written. Safe to run twice: a second delivery finds the upload gone or failed."""
    upload = DestinationUpload.unscoped.filter(pk=upload_id, state=DestinationUpload.State.PENDING).first()
    if upload is None:
        return

    def progress(rows: int) -> None:  # autocommit: the page's poll sees it at once
        DestinationUpload.unscoped.filter(pk=upload_id).update(rows_read=rows)

    try:
        destinations = destinations_parse(bytes(upload.data), progress=progress)
        if destinations.errors:
            count = len(destinations.errors)
            shown = "; ".join(str(e) for e in destinations.errors[:5])
            raise ValidationError(
                f"{count} row{'s are' if count > 1 else ' is'} not a phone number: {shown}"
                + ("; …" if count > 5 else "")
            )
    except ValidationError as error:
        DestinationUpload.unscoped.filter(pk=upload_id).update(
            state=DestinationUpload.State.FAILED, error=" ".join(error.messages)
        )
        return
    with transaction.atomic():
        locked = DestinationUpload.unscoped.select_for_update().filter(pk=upload_id, state="pending").first()
        if locked is None:
            return
        campaign = Campaign.unscoped.select_for_update().get(pk=locked.campaign_id)
        locked.delete()
        if campaign.state == State.CANCELLED:
            return  # cancelled while its list was read: nothing will be called
        _calls_create(campaign, destinations, now=timezone.now())
        campaign.destinations = len(destinations.numbers)
        campaign.duplicates_skipped = destinations.duplicates
        campaign.save(update_fields=["destinations", "duplicates_skipped"])
        audit(
            actor=None,
            action="campaign.destinations_read",
            target=campaign,
            destinations=campaign.destinations,
            duplicates_skipped=campaign.duplicates_skipped,
        )


def _no_caller_ids(environment, tags) -> str:
    names = sorted(t.name for t in tags)
    return (
        f"No active number in {environment} carries the tag{'s' if len(names) > 1 else ''} {', '.join(names)}, "
        "so there is no caller ID to call from."
    )


def _refuse_empty_pool(campaign: Campaign) -> list[str]:
    numbers = pool_numbers(campaign)
    if not numbers and campaign_pool(campaign, resting=True).exists():
        raise CampaignRefused(
            f"Every number of “{campaign}”'s pool is resting or retired (its health, on the Numbers page), "
            "so there is no caller ID to call from now. Return one to its pools, or wait for one to be back."
        )
    if not numbers:
        tags = Tag.unscoped.filter(pk__in=_tag_ids(campaign))
        raise CampaignRefused(
            _no_caller_ids(campaign.environment, tags) + " Tag numbers on the Numbers page, then start again."
        )
    return numbers


def _refuse_unread_list(campaign: Campaign) -> None:
    upload = DestinationUpload.unscoped.filter(campaign=campaign).only("state").first()
    if upload is not None and upload.state == DestinationUpload.State.FAILED:
        raise CampaignRefused(f"“{campaign}” has no destinations: its list could not be read.")
    if upload is not None:
        raise CampaignRefused(f"“{campaign}”'s destination list is still being read; start it when it is.")


def _move(campaign: Campaign, *, actor, frm: tuple[str, ...], to: str, action: str, **fields) -> Campaign:
    with transaction.atomic():
        locked = Campaign.unscoped.select_for_update().get(pk=campaign.pk)
        if locked.state not in frm:
            raise CampaignRefused(
                f"“{locked}” is {locked.get_state_display().lower()}; it can't be {action} now."
            )
        if to == State.RUNNING:
            _refuse_unread_list(locked)
            _refuse_empty_pool(locked)
            if not CampaignCall.unscoped.filter(campaign=locked, state__in=CampaignCall.OPEN_STATES).exists():
                raise CampaignRefused(f"“{locked}” has no destinations left to call.")
        locked.state = to
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save()
        audit(actor=actor, action=f"campaign.{action}", target=locked)
        pool_id, workspace_id = locked.pool_id, locked.workspace_id
        if to == State.RUNNING:
            transaction.on_commit(lambda: _kick_dispatch())
        elif to in (State.CANCELLED, State.FINISHED):
            transaction.on_commit(lambda: _pool_delete(workspace_id, pool_id))
    return locked


def campaign_start(*, campaign: Campaign, actor) -> Campaign:
    return _move(
        campaign, actor=actor, frm=(State.DRAFT,), to=State.RUNNING, action="started",
        started_at=timezone.now(), stop_reason="", pool_synced_at=None,
    )  # fmt: skip


def campaign_pause(*, campaign: Campaign, actor) -> Campaign:
    return _move(campaign, actor=actor, frm=(State.RUNNING,), to=State.PAUSED, action="paused")


def campaign_resume(*, campaign: Campaign, actor) -> Campaign:
    return _move(
        campaign, actor=actor, frm=(State.PAUSED,), to=State.RUNNING, action="resumed",
        stop_reason="", pool_synced_at=None,
    )  # fmt: skip


def campaign_cancel(*, campaign: Campaign, actor) -> Campaign:
    return _move(
        campaign, actor=actor, frm=Campaign.OPEN_STATES, to=State.CANCELLED, action="cancelled",
        finished_at=timezone.now(),
    )  # fmt: skip


def calls_requeue(*, calls, actor) -> int:
    """Failed (or reviewed) calls go back to waiting; their campaign must be reopened to call them."""
    moved = 0
    for call in calls:
        n = CampaignCall.unscoped.filter(pk=call.pk, state__in=(Call.FAILED, Call.UNKNOWN)).update(
            state=Call.PENDING,
            not_before=timezone.now(),
            error="",
            unavailable_tries=0,
            updated_at=timezone.now(),
        )
        if n:
            moved += 1
            audit(
                actor=actor, action="campaign.call_requeued", target=call.campaign, destination=call.to_e164
            )
            Campaign.unscoped.filter(pk=call.campaign_id, state=State.FINISHED).update(
                state=State.RUNNING, finished_at=None, pool_synced_at=None
            )
    return moved


def _kick_dispatch() -> None:
    from campaigns.tasks import dispatch

    try:
        dispatch.apply_async(expires=5)
    except Exception:  # noqa: BLE001 - the broker is down: beat runs the dispatcher anyway
        log.warning("could not enqueue a dispatch; beat will run it")
