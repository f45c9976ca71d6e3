"""The one way services record what happened."""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

from django.db import models

from tenants import scope, signals
from tenants.models import AuditEvent, Workspace

# How the actor acted when not through a page ("API key “ci” (dtk_ab12…)"); set per request, reset after it.
_via: ContextVar[str] = ContextVar("dialtone_audit_via", default="")


def via_set(label: str) -> None:
    _via.set(label)


def via() -> str:
    """How the current request acts ("" on the pages): a job started through the API keeps it for its run."""
    return _via.get()


@contextmanager
def acting_via(label: str):
    """A worker acting for a request made `via` something (a bulk job started with an API key)."""
    token = _via.set(label)
    try:
        yield
    finally:
        _via.reset(token)


def request_started():
    """Every request starts acting through the pages; returns the restore token (see WorkspaceMiddleware)."""
    return _via.set("")


def request_finished(token) -> None:
    _via.reset(token)


def audit(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    workspace: Workspace | None = None,
    platform: bool = False,
    **details: Any,
) -> AuditEvent:
    """Append an audit event. `actor` may be None for the system (workers, reconciliation). A platform
    event (sign-in throttling) belongs to no workspace, says so, and only Django admin lists it."""
    if not platform:
        workspace = workspace or getattr(target, "workspace", None) or scope.current_workspace()
        if workspace is None:
            raise scope.ScopeMissing("AuditEvent")
    via = _via.get()
    if via:
        details = {**details, "via": via}
    # A platform row is written outside any workspace's scope, which would otherwise claim it.
    with scope.all_workspaces() if platform else nullcontext():
        event = AuditEvent.unscoped.create(
            workspace=workspace,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            actor_label=_actor_label(actor, via),
            action=action,
            target_type=target._meta.model_name if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            target_label=str(target)[:200] if target is not None else "",
            details=details,
        )
    if not platform:
        signals.audited.send(sender=AuditEvent, event=event, target=target)
    return event


def audit_many(
    *, actor, workspace: Workspace, events: list[tuple[str, models.Model, dict]]
) -> list[AuditEvent]:
    """Append one audit event per (action, target, details) in one INSERT: what a bulk job's chunk writes
    instead of an audit() per number. Each event is still told to `audited` (outbound events listen)."""
    via = _via.get()
    label = _actor_label(actor, via)
    user = actor if getattr(actor, "is_authenticated", False) else None
    rows = AuditEvent.unscoped.bulk_create(
        AuditEvent(
            workspace=workspace,
            actor=user,
            actor_label=label,
            action=action,
            target_type=target._meta.model_name,
            target_id=str(target.pk),
            target_label=str(target)[:200],
            details={**details, "via": via} if via else details,
        )  # fmt: skip
        for action, target, details in events
    )
    for event, (_, target, _) in zip(rows, events, strict=True):
        signals.audited.send(sender=AuditEvent, event=event, target=target)
    return rows


def _actor_label(actor, via: str = "") -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        label = "Dialtone"
    else:
        label = actor.get_full_name() or actor.get_username()
    return f"{label} via {via}"[:150] if via else label


def changes(before: dict, after: dict) -> dict[str, list]:
    """{field: [before, after]} for the fields that differ: what every "updated" event records."""
    return {key: [before[key], after[key]] for key in after if before.get(key) != after[key]}
