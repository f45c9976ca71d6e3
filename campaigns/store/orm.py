"""The portable store: Django's ORM only, so it runs on any database Django does (the SQLite demo), with
the same guarantees as the PostgreSQL one. Its locks are row locks: the workspace's row (FOR UPDATE for a
rebuild; FOR NO KEY UPDATE SKIP LOCKED for a dispatch batch: SQL has no shared row lock Django can ask for,
so where PostgreSQL lets batches of one workspace's campaigns run at once, here they take turns) and the
campaign's row for its pool (FOR NO KEY UPDATE SKIP LOCKED: rows inserted for the campaign meanwhile, which
take its key share, don't hold a batch up). A batch waits for no lock, so none can deadlock. On SQLite, which has no row locks, the demo's
transactions begin IMMEDIATE (config/settings.py): one writer at a time stands for every lock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import Case, Count, Exists, F, Min, OuterRef, Q, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from campaigns.models import CallAttempt, Campaign, CampaignCall
from campaigns.store.base import (
    HEARD_STATES,
    SETTLED_RANK,
    Answer,
    Call,
    Claim,
    Heard,
    Job,
    Look,
    Recorded,
    State,
    Store,
    Taken,
    Tally,
    attempt_answered,
    heard_fields,
)
from tenants.models import Workspace


class OrmStore(Store):
    name = "orm"

    def lock_workspace(self, workspace_id: int) -> None:
        list(Workspace.objects.select_for_update().filter(pk=workspace_id).values_list("pk"))

    def batch_begin(self, campaign: Campaign) -> Look | None:
        workspace = Workspace.objects.select_for_update(no_key=True, skip_locked=True).filter(
            pk=campaign.workspace_id
        )
        if not list(workspace.values_list("pk")):
            return None  # a rebuild, or another batch of the workspace, holds it
        pool = Campaign.unscoped.select_for_update(no_key=True, skip_locked=True).filter(pk=campaign.pk)
        state = pool.values_list("state", flat=True).first()
        if state is None and Campaign.unscoped.filter(pk=campaign.pk).exists():
            return None  # another dispatcher feeds the pool
        return Look(state, CampaignCall.unscoped.filter(campaign_id=campaign.pk, state=Call.RESERVED).count())

    def due(self, campaign_id: int, now: datetime, most: int) -> list[int]:
        return list(
            CampaignCall.unscoped.filter(campaign_id=campaign_id, state=Call.PENDING, not_before__lte=now)
            .order_by("not_before", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:most]
        )

    def reserve(
        self, campaign: Campaign, claims: list[Claim], numbers: dict[str, int], *, at: datetime, now: datetime
    ) -> list[Job]:
        ids = [int(c.call_id) for c in claims]
        destinations = dict(CampaignCall.unscoped.filter(pk__in=ids).values_list("pk", "to_e164"))
        attempts = CallAttempt.unscoped.bulk_create(
            CallAttempt(
                workspace_id=campaign.workspace_id, call_id=int(c.call_id), campaign_id=campaign.pk,
                number_id=numbers[c.number], e164=c.number, at_ms=c.at_ms, at=at,
                to_e164=destinations.get(int(c.call_id), ""),
            )
            for c in claims
        )  # fmt: skip
        for attempt in attempts:
            moved = CampaignCall.unscoped.filter(pk=attempt.call_id, state=Call.PENDING).update(
                state=Call.RESERVED, number_id=attempt.number_id, from_e164=attempt.e164, attempt_id=attempt.pk,
                reserved_at=now, updated_at=now, error="",
            )  # fmt: skip
            if not moved:  # cannot happen under the batch's row locks: roll the batch back
                raise RuntimeError(f"call {attempt.call_id} was no longer pending")
        return [Job(a.call_id, a.pk) for a in attempts]

    def suppress(self, reasons: dict[int, str], now: datetime) -> list[int]:
        return self._end(reasons, Call.SUPPRESSED, now)

    def hold(self, reasons: dict[int, str], now: datetime) -> list[int]:
        return self._end(reasons, Call.HELD, now)

    def _end(self, reasons: dict[int, str], end: str, now: datetime) -> list[int]:
        by_reason: dict[str, list[int]] = {}
        for call_id, reason in reasons.items():
            by_reason.setdefault(reason, []).append(call_id)
        moved = []
        for reason, ids in by_reason.items():  # one entry's calls share a reason: few statements
            with transaction.atomic():
                pending = CampaignCall.unscoped.select_for_update().filter(pk__in=ids, state=Call.PENDING)
                ids = list(pending.values_list("id", flat=True))
                CampaignCall.unscoped.filter(pk__in=ids, state=Call.PENDING).update(
                    state=end, error=reason[:300], finished_at=now, updated_at=now
                )
            moved += ids
        return sorted(moved)

    def tally(self, workspace_id: int, call_ids: list[int], day_starts: list[datetime]) -> dict[int, Tally]:
        # No destination locks: a dispatch batch holds its workspace's row, so batches take turns here.
        if not call_ids:
            return {}
        rows = CampaignCall.unscoped.filter(pk__in=call_ids).values_list("pk", "to_e164", "zone")
        zones = {pk: zone if 0 <= zone < len(day_starts) else 0 for pk, _, zone in rows}
        calls = {pk: to for pk, to, _ in rows}
        own = dict(
            CallAttempt.unscoped.filter(call_id__in=list(calls), dialed=True)
            .values_list("call_id").annotate(n=Count("id")).order_by()
        )  # fmt: skip
        dials: dict[str, list[datetime]] = {}
        for to, at in CallAttempt.unscoped.filter(
            workspace_id=workspace_id, to_e164__in=set(calls.values()), dialed=True,
            at__gte=min(day_starts),
        ).values_list("to_e164", "at"):  # fmt: skip
            dials.setdefault(to, []).append(at)
        reserved = dict(
            CampaignCall.unscoped.filter(  # reserved, its claim not yet marked dialed (counted above if so)
                workspace_id=workspace_id, state=Call.RESERVED, to_e164__in=set(calls.values()),
                attempt__dialed=False,
            ).values_list("to_e164").annotate(n=Count("id")).order_by()
        )  # fmt: skip
        return {
            pk: Tally(
                own.get(pk, 0),
                sum(at >= day_starts[zones[pk]] for at in dials.get(to, ())) + reserved.get(to, 0),
                zones[pk],
            )
            for pk, to in calls.items()
        }

    def day_wait(self, waits: dict[int, tuple[datetime, str]]) -> int:
        if not waits:
            return 0
        groups: dict[tuple[datetime, str], list[int]] = {}
        for pk, (until, reason) in waits.items():
            groups.setdefault((until, reason[:300]), []).append(pk)
        # One statement: the calls of one zone set at one count share their time and reason.
        return CampaignCall.unscoped.filter(pk__in=list(waits), state=Call.PENDING).update(
            not_before=Case(*(When(pk__in=ids, then=Value(until)) for (until, _), ids in groups.items())),
            error=Case(*(When(pk__in=ids, then=Value(reason)) for (_, reason), ids in groups.items())),
        )

    def outcome_move(self, call_id: int, attempt_id: int, frm, **fields) -> bool:
        fields.setdefault("updated_at", timezone.now())
        return bool(
            CampaignCall.unscoped.filter(
                pk=call_id, attempt_id=attempt_id, state__in=list(frm),
                campaign_id__in=Campaign.unscoped.filter(state__in=Campaign.OPEN_STATES).values("pk"),
            ).update(**fields)
        )  # fmt: skip

    def hold_back(self, call_ids: list[int], until: datetime) -> None:
        CampaignCall.unscoped.filter(pk__in=call_ids, state=Call.PENDING).update(not_before=until)

    def hours_wait(self, campaign_id: int, now: datetime, opens: dict[int, datetime]) -> int:
        if not opens:
            return 0
        # One statement whatever the number of closed zone sets; call_due_by_zone finds only their due calls.
        return CampaignCall.unscoped.filter(
            campaign_id=campaign_id, state=Call.PENDING, zone__in=list(opens), not_before__lte=now
        ).update(not_before=Case(*(When(zone=zone, then=Value(at)) for zone, at in opens.items())))

    def next_due(self, campaign_id: int) -> datetime | None:
        pending = CampaignCall.unscoped.filter(campaign_id=campaign_id, state=Call.PENDING)
        return pending.aggregate(at=Min("not_before"))["at"]

    def in_flight(self, campaign_id: int) -> bool:
        return CampaignCall.unscoped.filter(
            campaign_id=campaign_id, state__in=CampaignCall.IN_FLIGHT
        ).exists()

    def campaign_move(self, campaign_id: int, frm: str, to: str, **fields) -> bool:
        return bool(Campaign.unscoped.filter(pk=campaign_id, state=frm).update(state=to, **fields))

    def campaign_note(self, campaign_ids: list[int], **fields) -> None:
        Campaign.unscoped.filter(pk__in=campaign_ids).update(**fields)

    def take(self, call_id: int, attempt_id: int, now: datetime) -> Taken | None:
        return self.take_chunk([Job(call_id, attempt_id)], now).get(call_id)

    def _take(self, call_id: int, attempt_id: int, now: datetime) -> Taken | None:
        if not CampaignCall.unscoped.filter(
            pk=call_id, state=Call.RESERVED, attempt_id=attempt_id, campaign_id__in=_running()
        ).update(state=Call.DIALING, dialing_at=now, updated_at=now):
            return None
        call = CampaignCall.unscoped.select_related("attempt", "number__connection").get(pk=call_id)
        number = call.number
        return Taken(
            call_id=call_id, attempt_id=attempt_id, workspace_id=call.workspace_id,
            campaign_id=call.campaign_id, to_e164=call.to_e164, from_e164=call.from_e164,
            number_id=call.number_id, unavailable_tries=call.unavailable_tries,
            at_ms=call.attempt.at_ms if call.attempt else None,
            number_active=number is not None and number.calls_out,
            connection=number.connection if number else None,
        )  # fmt: skip

    def move(self, call_id: int, attempt_id: int, frm: str, **fields) -> bool:
        fields.setdefault("updated_at", timezone.now())
        moved = bool(
            CampaignCall.unscoped.filter(pk=call_id, state=frm, attempt_id=attempt_id).update(**fields)
        )
        if moved and frm == Call.DIALING and fields.get("state") == Call.PENDING:
            _not_dialed([attempt_id])
        return moved

    def give_back(self, call_id: int, attempt_id: int, now: datetime) -> bool:
        return bool(
            CampaignCall.unscoped.filter(pk=call_id, state=Call.RESERVED, attempt_id=attempt_id)
            .exclude(campaign_id__in=_running())
            .update(state=Call.PENDING, not_before=now, updated_at=now)
        )

    def take_chunk(self, jobs: Sequence[Job], now: datetime) -> dict[int, Taken]:
        # Each claim is marked dialed before its call leaves reserved, never in one transaction with the
        # takes (it would hold the taken calls' rows while waiting for the next, against the pacer's rebuild
        # moving them all). A reserved call whose claim is marked counts once (campaigns/caps.py), so a
        # dispatch batch never sees a call taken and not counted. Claims whose call was not taken lose the mark.
        marked = [attempt_id for _, attempt_id in jobs]
        reserved = CampaignCall.unscoped.filter(state=Call.RESERVED, attempt_id=OuterRef("pk"))
        CallAttempt.unscoped.filter(pk__in=marked).filter(Exists(reserved)).update(dialed=True)
        taken = (self._take(call_id, attempt_id, now) for call_id, attempt_id in jobs)
        taken = {t.call_id: t for t in taken if t is not None}
        if len(taken) < len(jobs):
            missed = [attempt_id for call_id, attempt_id in jobs if call_id not in taken]
            # Not a second delivery's: a call dialing (or past) under the claim keeps it counted.
            undialed = CampaignCall.unscoped.filter(
                attempt_id=OuterRef("pk"), state__in=(Call.RESERVED, Call.PENDING)
            )
            moved_on = CampaignCall.unscoped.filter(pk=OuterRef("call_id")).exclude(attempt_id=OuterRef("pk"))
            CallAttempt.unscoped.filter(pk__in=missed).filter(Exists(undialed) | Exists(moved_on)).update(
                dialed=False
            )
        return taken

    def answer_chunk(self, answers: Sequence[Answer]) -> int:
        return sum(
            self.move(
                a.call_id,
                a.attempt_id,
                Call.DIALING,
                state=a.state,
                error=a.error,
                finished_at=a.finished_at,
                updated_at=a.finished_at,
                **({"provider_call_id": a.provider_call_id} if a.provider_call_id else {}),
                **heard_fields(a.heard),
            )  # fmt: skip
            for a in answers
        )

    def back_chunk(self, jobs: Sequence[Job], frm: str, now: datetime) -> int:
        back = CampaignCall.unscoped.filter(_claims(jobs), state=frm).update(
            state=Call.PENDING, not_before=now, updated_at=now, error=""
        )
        if back and frm == Call.DIALING:
            _not_dialed([job.attempt_id for job in jobs])
        return back

    def give_back_chunk(self, jobs: Sequence[Job], now: datetime) -> int:
        return (
            CampaignCall.unscoped.filter(_claims(jobs), state=Call.RESERVED)
            .exclude(campaign_id__in=_running())
            .update(state=Call.PENDING, not_before=now, updated_at=now)
        )

    def recover(self, reserved_before: datetime, now: datetime) -> int:
        return CampaignCall.unscoped.filter(state=Call.RESERVED, reserved_at__lt=reserved_before).update(
            state=Call.PENDING, not_before=now, updated_at=now, error=""
        )

    def release_reserved(self, workspace_id: int, now: datetime) -> int:
        return CampaignCall.unscoped.filter(workspace_id=workspace_id, state=Call.RESERVED).update(
            state=Call.PENDING, not_before=now, updated_at=now, error=""
        )

    def newest_attempts(self, workspace_id: int, since_ms: int, keep: int) -> list[tuple[str, int]]:
        newest = Window(RowNumber(), partition_by=F("e164"), order_by=F("at_ms").desc())
        return [
            (e164, int(at_ms))
            for e164, at_ms in CallAttempt.unscoped.filter(workspace_id=workspace_id, at_ms__gte=since_ms)
            .annotate(newest=newest)
            .filter(newest__lte=keep)
            .values_list("e164", "at_ms")
        ]

    def reconcile_take(
        self, dialing_before: datetime, due_by: datetime, ask_again_at: datetime
    ) -> int | None:
        with transaction.atomic():
            call_id = (
                CampaignCall.unscoped.filter(
                    state__in=(Call.DIALING, Call.CHECKING),
                    dialing_at__lt=dialing_before,
                    not_before__lte=due_by,
                )
                .order_by("not_before", "id")
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)
                .first()
            )
            if call_id is not None:
                CampaignCall.unscoped.filter(pk=call_id).update(state=Call.CHECKING, not_before=ask_again_at)
        return call_id

    def checking_call(self, call_id: int) -> CampaignCall:
        return CampaignCall.unscoped.select_related("number__connection", "campaign").get(pk=call_id)

    def outcome_record(self, call_id: int, attempt_id: int, heard: Heard, now: datetime) -> Recorded | None:
        with transaction.atomic():
            row = (
                CampaignCall.unscoped.select_for_update()
                .filter(pk=call_id, attempt_id=attempt_id, state__in=HEARD_STATES)
                .values("progress", "state", "answered", "answered_at", "provider_call_id", "finished_at")
                .first()
            )
            if row is None:
                return None
            higher = heard.rank > row["progress"]
            if not higher and not (heard.answered_at and row["answered_at"] is None):
                return None
            fields = {"answered_at": row["answered_at"] or heard.answered_at, "updated_at": now}
            if row["answered"] is None and heard.answered is not None:
                fields["answered"] = heard.answered
            if higher:
                fields["progress"] = heard.rank
                if heard.rank >= SETTLED_RANK:
                    fields.update(
                        outcome=heard.outcome, duration_s=heard.duration_s, hangup_cause=heard.cause
                    )
            if row["state"] != Call.PLACED:
                fields.update(state=Call.PLACED, error="", finished_at=row["finished_at"] or now)
            if not row["provider_call_id"]:
                fields["provider_call_id"] = heard.provider_call_id
            CampaignCall.unscoped.filter(pk=call_id).update(**fields)
            if higher and heard.rank >= SETTLED_RANK:
                CallAttempt.unscoped.filter(pk=attempt_id).update(
                    outcome=heard.outcome, answered=attempt_answered(heard), duration_s=heard.duration_s,
                    settled_at=now,
                )  # fmt: skip
        return Recorded(row["progress"], row["state"])

    def outcome_take(
        self, placed_before: datetime, asked_before: datetime, now: datetime
    ) -> CampaignCall | None:
        with transaction.atomic():
            call_id = (
                CampaignCall.unscoped.filter(
                    state=Call.PLACED, progress__lt=SETTLED_RANK, finished_at__lt=placed_before
                )
                .filter(Q(outcome_asked_at__isnull=True) | Q(outcome_asked_at__lt=asked_before))
                .order_by("finished_at", "id")
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)
                .first()
            )
            if call_id is None:
                return None
            CampaignCall.unscoped.filter(pk=call_id).update(outcome_asked_at=now)
        return CampaignCall.unscoped.select_related("number__connection").get(pk=call_id)


def _running():
    """Running campaigns' ids, as a subquery. A guarded move filters on it, never through a join
    (`campaign__state`): Django turns an UPDATE with a join into `WHERE id IN (SELECT ... JOIN ...)`, whose
    state guard PostgreSQL does not check again on a row another transaction just moved, so two dial
    tasks delivered at once would both take the call (tests/campaigns/test_latency.py saw it)."""
    return Campaign.unscoped.filter(state=State.RUNNING).values("pk")


def _claims(jobs: Sequence[Job]) -> Q:
    """Calls each under its own claim, for one statement over a chunk."""
    q = Q(pk__in=[])
    for call_id, attempt_id in jobs:
        q |= Q(pk=call_id, attempt_id=attempt_id)
    return q


def _not_dialed(attempt_ids: list[int]) -> None:
    """Claims whose calls went back to waiting from dialing reached no destination (sent too late, no
    connection in time, refused for the account's call rate): they no longer count against the
    destination's attempt caps (campaigns/caps.py). Only claims their call is still waiting under."""
    waiting = CampaignCall.unscoped.filter(
        pk=OuterRef("call_id"), attempt_id=OuterRef("pk"), state=Call.PENDING
    )
    CallAttempt.unscoped.filter(pk__in=attempt_ids, dialed=True).filter(Exists(waiting)).update(dialed=False)
