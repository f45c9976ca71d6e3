"""Tag and untag jobs, a chunk of numbers at a time in one transaction, set-based: the statements a chunk
takes do not grow with its size. Each number still gets what number_update gives it: its checks (held, not
on hold, at most Tag.MAX_PER_NUMBER tags), a version bump, an audit event (with its `audited` signal) and
its campaign pools following (after the commit). A row refused writes nothing but its result."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from phone_numbers import signals
from phone_numbers.bulk import items_record
from phone_numbers.models import BulkJob, BulkJobItem, PhoneNumber, Tag
from phone_numbers.selectors import tags_named
from phone_numbers.services import NumberRefused, refuse_if_on_hold
from phone_numbers.tags import tags_get_or_create
from tenants.audit import audit_many

Item = BulkJobItem.State


def tags_chunk_run(job: BulkJob, items: list[BulkJobItem]) -> None:
    """Add (tag) or remove (untag) the job's tags on the chunk's numbers; every item's result written."""
    adding = job.kind == BulkJob.Kind.TAG
    wanted: list[str] = job.params["tags"]
    links = PhoneNumber.tags.through.objects
    with transaction.atomic():
        ids = [i.number_id for i in items if i.number_id]
        numbers = PhoneNumber.objects.select_for_update().in_bulk(ids)
        had: dict[int, list[str]] = defaultdict(list)
        for number_id, name in (
            links.filter(phonenumber_id__in=ids)
            .order_by("tag__name")
            .values_list("phonenumber_id", "tag__name")
        ):
            had[number_id].append(name)
        changed: dict[int, tuple[list[str], list[str]]] = {}  # number -> (tags before, tags touched)
        for item in items:
            item.state, item.message, touched = _plan(job, item, numbers.get(item.number_id), had)
            if touched:
                changed[item.number_id] = (had[item.number_id], touched)
        if changed:
            _write(job, numbers, changed, adding, wanted, links)
        items_record(items)


def _plan(job, item, number: PhoneNumber | None, had) -> tuple[str, str, list[str]]:
    """(state, message, tags it changes) for one number; the checks number_update makes, in its order."""
    if number is None:
        return Item.FAILED, f"{item.e164} is no longer in this workspace.", []
    before, wanted = had[number.pk], job.params["tags"]
    if job.kind == BulkJob.Kind.TAG:
        verb, touched = "Tagged", [n for n in wanted if n not in before]
        after = len(before) + len(touched)
    else:
        verb, touched = "Untagged", [n for n in before if n in wanted]
        after = len(before) - len(touched)
    if not touched:
        same = "it has these tags already." if job.kind == BulkJob.Kind.TAG else "it has none of these tags."
        return Item.DONE, "No change: " + same, []
    if not number.is_held:
        return Item.FAILED, f"{number} is {number.get_state_display().lower()}; it can't be edited.", []
    try:
        refuse_if_on_hold(number, "editing")
    except NumberRefused as exc:
        return Item.FAILED, str(exc), []
    if after > Tag.MAX_PER_NUMBER:
        return Item.FAILED, f"A number can carry at most {Tag.MAX_PER_NUMBER} tags ({after} given).", []
    return Item.DONE, f"{verb} {', '.join(touched)}.", touched


def _write(job, numbers, changed, adding: bool, wanted: list[str], links) -> None:
    ids = list(changed)
    if adding:
        tags = {t.name: t for t in tags_get_or_create(wanted)}
        links.bulk_create(
            [links.model(phonenumber_id=pk, tag_id=tags[name].pk) for pk, (_, names) in changed.items()
             for name in names],
            ignore_conflicts=True,
        )  # fmt: skip
    else:
        links.filter(phonenumber_id__in=ids, tag__in=tags_named(wanted)).delete()
    PhoneNumber.objects.filter(pk__in=ids).update(version=F("version") + 1, updated_at=timezone.now())
    events = []
    for pk, (before, touched) in changed.items():
        after = sorted({*before, *touched}) if adding else sorted(set(before) - set(touched))
        events.append(("number.updated", numbers[pk], {"changed": {"tags": [sorted(before), after]}}))
    audit_many(actor=job.actor, workspace=job.workspace, events=events)
    signals.numbers_changed.send(sender=PhoneNumber, workspace_id=job.workspace_id, number_ids=ids)
