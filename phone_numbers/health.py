"""A number's health as stored: every move of it (the sweep's in health/, or a member's flag) goes through
health_move, which records a HealthChange and an audit event and tells campaign pools when the number
leaves or rejoins them (resting and retired numbers are in no pool). Reads for its page: health_history."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from phone_numbers import signals
from phone_numbers.models import HEALTH_OUT_OF_POOLS, Health, HealthChange, PhoneNumber
from tenants.audit import audit

FLAG_NOTE_MAX = 200
_KEEP = object()  # a field health_move leaves as it is


class HealthRefused(Exception):
    """A flag or clear the product refuses, with a sentence for the person who asked."""


def health_move(
    *,
    number: PhoneNumber,
    to: str,
    reason: str,
    actor=None,
    at: datetime | None = None,
    resting_until=_KEEP,
    returned_at=_KEEP,
) -> bool:
    """Move the number's health to `to`, saying why. Whether it moved: the same state with the same reason
    changes nothing (the sweep re-decides every few minutes); the same state with a new reason updates the
    reason only, without a history row. Runs in its own transaction (or the caller's), number locked."""
    at = at or timezone.now()
    reason = reason[:300]
    with transaction.atomic():
        locked = PhoneNumber.unscoped.select_for_update().get(pk=number.pk)
        fields = {}
        if resting_until is not _KEEP and locked.resting_until != resting_until:
            fields["resting_until"] = resting_until
        if returned_at is not _KEEP and locked.returned_at != returned_at:
            fields["returned_at"] = returned_at
        frm = locked.health
        if frm == to and locked.health_reason == reason and not fields:
            return False
        if locked.health_reason != reason:
            fields["health_reason"] = reason
        if frm != to:
            fields.update(health=to, health_changed_at=at)
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*fields, "updated_at"])
        _copy(locked, number, fields)
        if frm == to:
            return True
        HealthChange.unscoped.create(
            workspace_id=locked.workspace_id, number=locked, from_state=frm, to_state=to, reason=reason, at=at,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            actor_label=_actor_label(actor),
        )  # fmt: skip
        audit(
            actor=actor, action="number.health", target=locked, workspace=locked.workspace,
            changed={"health": [Health(frm).label, Health(to).label]}, reason=reason,
        )  # fmt: skip
        if (frm in HEALTH_OUT_OF_POOLS) != (to in HEALTH_OUT_OF_POOLS):
            signals.number_changed.send(sender=PhoneNumber, number=locked)  # pools follow, after commit
    return True


def number_flag(*, number: PhoneNumber, actor, note: str) -> PhoneNumber:
    """A member marks the number flagged, with a note: it is at risk (so it rests, within the pool's cap)
    until someone clears the flag. At risk rather than watch: a person flags a number because callees
    see it labelled spam, and watching would change nothing about the calls it places."""
    note = " ".join(note.split())
    if not note:
        raise HealthRefused("Say why you flag it: the note is shown wherever its health is.")
    if len(note) > FLAG_NOTE_MAX:
        raise HealthRefused(f"Keep the note under {FLAG_NOTE_MAX} characters.")
    now = timezone.now()
    with transaction.atomic():
        locked = PhoneNumber.objects.select_for_update().get(pk=number.pk)
        if locked.state != PhoneNumber.State.ACTIVE:
            raise HealthRefused(
                f"{locked} is {locked.get_state_display().lower()}; only active numbers are flagged."
            )
        locked.flagged, locked.flag_note, locked.flagged_by, locked.flagged_at = True, note, actor, now
        locked.save(update_fields=["flagged", "flag_note", "flagged_by", "flagged_at", "updated_at"])
        audit(actor=actor, action="number.flagged", target=locked, note=note)
        if locked.health not in (Health.AT_RISK, *HEALTH_OUT_OF_POOLS):
            health_move(number=locked, to=Health.AT_RISK, reason=flag_reason(locked), actor=actor, at=now)
        signals.number_flagged.send(sender=PhoneNumber, number=locked)
    return locked


def number_health_clear(*, number: PhoneNumber, actor) -> PhoneNumber:
    """Clear a flag, or bring a resting or retired number back: it rejoins its pools on the ramp a rest
    ends with, and is watched until its new calls say how it is doing."""
    now = timezone.now()
    with transaction.atomic():
        locked = PhoneNumber.objects.select_for_update().get(pk=number.pk)
        if not locked.flagged and locked.health not in (Health.AT_RISK, *HEALTH_OUT_OF_POOLS):
            raise HealthRefused(f"{locked} is neither flagged, at risk nor resting: nothing to clear.")
        if locked.flagged:
            locked.flagged, locked.flag_note, locked.flagged_by, locked.flagged_at = False, "", None, None
            locked.save(update_fields=["flagged", "flag_note", "flagged_by", "flagged_at", "updated_at"])
            audit(actor=actor, action="number.flag_cleared", target=locked)
        returned = now if locked.health in HEALTH_OUT_OF_POOLS else locked.returned_at
        health_move(
            number=locked, to=Health.WATCH, reason=f"Cleared by {_actor_label(actor)}: watched until its new calls tell.",
            actor=actor, at=now, resting_until=None, returned_at=returned,
        )  # fmt: skip
    return locked


def flag_reason(number: PhoneNumber) -> str:
    who = _actor_label(number.flagged_by) if number.flagged_by_id else "a member"
    return f"Flagged by {who}: {number.flag_note}"


def health_history(number: PhoneNumber) -> list[tuple[datetime, str, str]]:
    """The number's health over time, oldest first: (when, state it moved to, why). The per-number page's
    chart and event list read it; the state before the first move was healthy."""
    return list(
        HealthChange.unscoped.filter(workspace_id=number.workspace_id, number=number)
        .order_by("at", "id")
        .values_list("at", "to_state", "reason")
    )


def _copy(locked: PhoneNumber, number: PhoneNumber, fields: dict) -> None:
    if locked is not number:
        for name, value in fields.items():
            setattr(number, name, value)


def _actor_label(actor) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "automatic"
    return actor.get_full_name() or actor.get_username()
