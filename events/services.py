"""Endpoints (made, changed, removed, their secret rolled), events published to them, and deliveries.

A delivery is leased before it is sent (next_attempt_at moves LEASE ahead), so a sender that dies mid-POST
leaves it to be retried, never lost; receivers may see an event twice and dedupe on Dialtone-Event-Id.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from events import sender, signing
from events.catalog import EVENT_TYPES, FROM_AUDIT, TEST_EVENT
from events.models import Delivery, Endpoint, Event
from tenants.audit import audit, changes

MAX_ATTEMPTS = 10
FIRST_RETRY_S = 30  # then doubling: 30 s, 1 min, 2 min ... about 8.5 h from first to last attempt
LONGEST_RETRY_S = 6 * 3600
LEASE = timedelta(seconds=60)  # longer than a send can take (EVENTS_TIMEOUTS_S: 3 s + 10 s)
MAX_ENDPOINTS = 10  # per workspace
_LISTENERS = "events:listeners"


def retry_after(attempts: int) -> timedelta:
    return timedelta(seconds=min(FIRST_RETRY_S * 2 ** (attempts - 1), LONGEST_RETRY_S))


def _check(*, url: str, event_types: list[str]) -> None:
    problem = sender.url_problem(url)
    if problem:
        raise ValidationError({"url": problem})
    unknown = set(event_types) - set(EVENT_TYPES)
    if unknown or not event_types:
        raise ValidationError({"event_types": "Choose at least one of the events listed."})


def endpoint_create(*, workspace, actor, url: str, event_types: list[str], description: str = "") -> tuple:
    """The endpoint and its signing secret, which the page shows once."""
    _check(url=url, event_types=event_types)
    with transaction.atomic():
        if Endpoint.objects.select_for_update().filter(workspace=workspace).count() >= MAX_ENDPOINTS:
            raise ValidationError(
                {"url": f"A workspace has at most {MAX_ENDPOINTS} endpoints: remove one first."}
            )
        secret = signing.new_secret()
        endpoint = Endpoint.objects.create(
            workspace=workspace, url=url, description=description, event_types=sorted(event_types),
            signing={"secret": secret}, secret_hint=secret[:10], created_by=actor,
        )  # fmt: skip
        audit(actor=actor, action="endpoint.created", target=endpoint, events=endpoint.event_types)
        _listeners_changed()
    return endpoint, secret


def endpoint_update(
    *, endpoint: Endpoint, actor, url: str, event_types: list[str], description: str, enabled: bool
):
    _check(url=url, event_types=event_types)
    with transaction.atomic():
        locked = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = _described(locked)
        locked.url, locked.event_types, locked.description, locked.enabled = (
            url,
            sorted(event_types),
            description,
            enabled,
        )
        locked.save(update_fields=["url", "event_types", "description", "enabled"])
        changed = changes(before, _described(locked))
        if changed:
            audit(actor=actor, action="endpoint.updated", target=locked, changed=changed)
            _listeners_changed()
    return locked


def _described(endpoint: Endpoint) -> dict:
    """What an "updated" audit event compares, before and after."""
    return {"url": endpoint.url, "events": endpoint.event_types, "description": endpoint.description,
            "enabled": endpoint.enabled}  # fmt: skip


def endpoint_roll_secret(*, endpoint: Endpoint, actor) -> str:
    """A new secret, at once: deliveries still waiting are signed with it when they are sent."""
    secret = signing.new_secret()
    with transaction.atomic():
        Endpoint.objects.filter(pk=endpoint.pk).update(signing={"secret": secret}, secret_hint=secret[:10])
        audit(actor=actor, action="endpoint.secret_rolled", target=endpoint)
    return secret


def endpoint_delete(*, endpoint: Endpoint, actor) -> None:
    """Removed with its delivery log; events waiting for it are not sent."""
    with transaction.atomic():
        audit(actor=actor, action="endpoint.deleted", target=endpoint)
        endpoint.delete()
        _listeners_changed()


def _event_create(*, workspace, type: str, data: dict, at: datetime) -> Event:
    """The event with its body built once: every delivery and retry sends these bytes (signed as they are)."""
    event = Event(workspace=workspace, type=type, created_at=at, body="")
    event.body = json.dumps(
        {"id": str(event.uid), "type": type, "created_at": at.isoformat(), "workspace": workspace.slug,
         "data": data},
        separators=(",", ":"), default=str,
    )  # fmt: skip
    event.save()
    return event


def listeners(type: str) -> frozenset[int]:
    """The workspaces with an enabled endpoint for `type`, cached until an endpoint changes: a call's
    completion asks for every call, and most workspaces listen to nothing."""
    key = f"{_LISTENERS}:{type}"
    found = cache.get(key)
    if found is None:
        rows = Endpoint.unscoped.filter(enabled=True).values_list("workspace_id", "event_types")
        found = sorted({workspace_id for workspace_id, types in rows if type in types})
        cache.set(key, found, 3600)
    return frozenset(found)


def _listeners_changed() -> None:
    # Now (this transaction reads its own endpoints), and after the commit (another process may have cached
    # the old ones meanwhile).
    keys = [f"{_LISTENERS}:{t}" for t in EVENT_TYPES]
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


def event_publish(*, workspace_id: int, type: str, data: dict, at: datetime | None = None) -> list[int]:
    """Record the event and a delivery to each enabled endpoint subscribed to it, in the caller's
    transaction; their sends are queued once it commits. The deliveries' ids (none: nobody listens)."""
    if workspace_id not in listeners(type):
        return []
    endpoints = [
        e
        for e in Endpoint.unscoped.filter(workspace_id=workspace_id, enabled=True).select_related("workspace")
        if type in e.event_types
    ]
    if not endpoints:
        return []
    workspace = endpoints[0].workspace
    event = _event_create(workspace=workspace, type=type, data=data, at=at or timezone.now())
    deliveries = Delivery.unscoped.bulk_create(
        # Due as it is published: `at` says when it happened, which a provider may date ahead of our clock.
        Delivery(workspace=workspace, endpoint=e, event=event, next_attempt_at=timezone.now())
        for e in endpoints
    )
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: _queue(ids))
    return ids


def _queue(ids: list[int]) -> None:
    from events.tasks import deliver

    for pk in ids:
        deliver.delay(pk)


def published_from_audit(event, target=None) -> None:
    """tenants.signals.audited: the audited actions that are events (catalog.FROM_AUDIT), with what the
    target says of itself (`event_data()`: PhoneNumber, Campaign) and the audit's details."""
    type = FROM_AUDIT.get(event.action)
    if type is None:
        return
    data = {"object": event.target_type, "id": event.target_id, "label": event.target_label}
    if hasattr(target, "event_data"):
        data.update(target.event_data())
    data.update(event.details)
    event_publish(workspace_id=event.workspace_id, type=type, data=data, at=event.created_at)


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> Delivery | None:
    """Send one due delivery; None when it is not due (sent, leased by another sender, or waiting)."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.unscoped.select_for_update(skip_locked=True)
            .select_related("endpoint", "event", "workspace")
            .filter(pk=delivery_id, state=Delivery.State.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    answer = _post(delivery.endpoint, delivery.event)
    return _settled(delivery, answer, timezone.now())


def _post(endpoint: Endpoint, event: Event) -> sender.Answer:
    body = event.body.encode()
    headers = {
        "Content-Type": "application/json",
        signing.HEADER: signing.signature(endpoint.secret, int(timezone.now().timestamp()), body),
        "Dialtone-Event-Id": str(event.uid),
        "Dialtone-Event-Type": event.type,
    }
    return sender.post(endpoint.url, body, headers)


def _settled(delivery: Delivery, answer: sender.Answer, now: datetime, *, retry: bool = True) -> Delivery:
    delivery.last_status, delivery.last_error, delivery.last_ms = answer.status, answer.error, answer.ms
    delivery.last_attempt_at = now
    if answer.ok:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = Delivery.State.SUCCEEDED, now, None
    elif delivery.attempts >= MAX_ATTEMPTS or not retry:
        delivery.state, delivery.next_attempt_at = Delivery.State.FAILED, None
    else:
        delivery.next_attempt_at = now + retry_after(delivery.attempts)
    delivery.save(
        update_fields=["state", "last_status", "last_error", "last_ms", "last_attempt_at", "delivered_at",
                       "next_attempt_at"]
    )  # fmt: skip
    return delivery


def deliveries_due(*, now: datetime | None = None, most: int = 500) -> list[int]:
    """Deliveries whose retry (or lease) came due: the beat task queues their sends."""
    now = now or timezone.now()
    return list(
        Delivery.unscoped.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:most]
    )


def endpoint_test(*, endpoint: Endpoint, actor) -> Delivery:
    """Send an endpoint.test event now, once (no retries), and say how it went: the page shows it."""
    with transaction.atomic():
        event = _event_create(
            workspace=endpoint.workspace, type=TEST_EVENT, data={"message": "A test event from Dialtone."},
            at=timezone.now(),
        )  # fmt: skip
        delivery = Delivery.objects.create(
            workspace=endpoint.workspace, endpoint=endpoint, event=event, attempts=1, next_attempt_at=None
        )
        audit(actor=actor, action="endpoint.tested", target=endpoint)
    return _settled(delivery, _post(endpoint, event), timezone.now(), retry=False)


def delivery_retry(*, delivery: Delivery, actor) -> Delivery:
    """Send a failed delivery again (from the log): pending, due now, with a fresh count of attempts."""
    with transaction.atomic():
        updated = Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.FAILED).update(
            state=Delivery.State.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        if updated:
            audit(
                actor=actor,
                action="endpoint.delivery_retried",
                target=delivery.endpoint,
                event=delivery.event.type,
            )
            transaction.on_commit(lambda: _queue([delivery.pk]))
    delivery.refresh_from_db()
    return delivery
