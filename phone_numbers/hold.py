"""Safe release: deleting a number holds it for the workspace's release_hold_days, then a task releases it.

On hold, a number stays active (it answers inbound calls and stays billed) but no longer calls out
(PhoneNumber.CALLS_OUT: campaign pools drop it) and can't be edited; one click restores it. At the end of
the hold, release_due() releases it through number_release with a key derived from the number and its
hold, so a retry or a crash never releases twice, and a number restored in between is left alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from phone_numbers import signals
from phone_numbers.models import NumberOperation, PhoneNumber
from phone_numbers.services import NumberRefused, number_release
from tenants.audit import audit
from tenants.display import day
from tenants.scope import all_workspaces, workspace_scope

DUE_BATCH = 500  # numbers released per task run; the next run (beat) takes the rest


def _locked(number: PhoneNumber, version: int | None) -> PhoneNumber:
    locked = PhoneNumber.objects.select_for_update().get(pk=number.pk)
    if version is not None and locked.version != version:
        raise NumberRefused("Someone else changed this number meanwhile. Reload and try again.")
    return locked


def number_hold(*, number: PhoneNumber, actor, version: int | None = None) -> PhoneNumber:
    """Delete: hold the number until the end of the workspace's hold, then release it. A hold of 0 days
    releases at once (through the same derived key as the hold task)."""
    with transaction.atomic():
        locked = _locked(number, version)
        if locked.on_hold:
            raise NumberRefused(f"{locked} is already releasing on {day(locked.release_at)}.")
        if locked.state != PhoneNumber.State.ACTIVE:
            raise NumberRefused(f"{locked} is {locked.get_state_display().lower()}; it can't be deleted.")
        days = locked.workspace.release_hold_days
        locked.release_at = timezone.now() + timedelta(days=days)
        locked.version += 1
        locked.save(update_fields=["release_at", "version", "updated_at"])
        audit(
            actor=actor, action="number.hold_started", target=locked, release_at=locked.release_at.isoformat(),
            days=days,
        )  # fmt: skip
        signals.number_changed.send(
            sender=PhoneNumber, number=locked
        )  # out of every campaign pool, after the commit
    if days == 0:
        number_release_held(number=locked, actor=actor)
        locked.refresh_from_db()
    return locked


def number_restore(*, number: PhoneNumber, actor, version: int | None = None) -> PhoneNumber:
    """Undo a delete while the number is on hold: it is active again, back in its campaign pools."""
    with transaction.atomic():
        locked = _locked(number, None)
        if locked.state in (PhoneNumber.State.RELEASING, PhoneNumber.State.RELEASED):
            raise NumberRefused(
                f"{locked} was already released at {locked.connection.get_provider_display()}; "
                "it can't be restored."
            )
        if not locked.on_hold:
            raise NumberRefused(f"{locked} is not being released: there is nothing to restore.")
        if version is not None and locked.version != version:
            raise NumberRefused("Someone else changed this number meanwhile. Reload and try again.")
        held_until = locked.release_at
        locked.release_at = None
        locked.version += 1
        locked.save(update_fields=["release_at", "version", "updated_at"])
        audit(actor=actor, action="number.restored", target=locked, release_at=held_until.isoformat())
        signals.number_changed.send(sender=PhoneNumber, number=locked)  # back in its pools, after the commit
    return locked


def hold_release_key(number: PhoneNumber) -> str:
    """The release's idempotency key: one per number and hold (held again after a restore: a new one)."""
    return f"hold-{number.pk}-{number.release_at.timestamp():.6f}"


def number_release_held(*, number: PhoneNumber, actor=None) -> NumberOperation:
    """Release a number at the end of its hold (refused if it was restored or held again meanwhile)."""
    return number_release(
        number=number, actor=actor, idempotency_key=hold_release_key(number), hold_ending=number.release_at
    )


def numbers_due(now: datetime | None = None):
    """Numbers whose hold has ended, every workspace's (call inside all_workspaces())."""
    return PhoneNumber.objects.filter(
        state=PhoneNumber.State.ACTIVE, release_at__isnull=False, release_at__lte=now or timezone.now()
    )


def release_due(*, now: datetime | None = None) -> list[NumberOperation]:
    """Release every number whose hold has ended. Safe to run twice at once and to kill at any point: each
    release is one operation under the hold's key (a second run finds it, or the number no longer active),
    and reconciliation settles one the provider did not answer."""
    with all_workspaces():
        due = list(
            numbers_due(now).select_related("workspace", "connection").order_by("release_at")[:DUE_BATCH]
        )
    operations = []
    for number in due:
        with workspace_scope(number.workspace):
            try:
                operations.append(number_release_held(number=number))
            except NumberRefused:
                continue  # restored, released or held by a running campaign meanwhile: not this run's
    return operations
