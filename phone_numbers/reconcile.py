"""Reconciliation: settle what a crash, a timeout or another app left uncertain, by asking the provider.

Never buys: an uncertain purchase is settled by looking it up (order by reference, owned number),
and a release is retried (releasing twice is safe). Each finding is audited and returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from phone_numbers.models import NumberOperation, PhoneNumber
from phone_numbers.services import buy_failed, buy_settled, number_route, release_call, webhook_url
from providers import registry
from providers.adapters.base import RECONCILE_LIST_MAX_ITEMS, ProviderError, ProviderUnavailable
from providers.models import ProviderConnection
from providers.services import connection_adapter
from tenants.audit import audit
from tenants.models import Workspace
from tenants.scope import all_workspaces, workspace_scope

# An operation younger than this may still be in flight in a web request: leave it to that request.
GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class Finding:
    kind: str  # settled_purchase, failed_purchase, still_pending, released, released_elsewhere, rerouted, unrecorded
    e164: str
    detail: str = ""


def reconcile_operation(operation: NumberOperation) -> Finding | None:
    """Settle one open operation from the provider's records."""
    adapter = connection_adapter(operation.connection)
    if operation.kind == NumberOperation.Kind.RELEASE:
        release_call(operation)
        operation.refresh_from_db()
        if operation.state == NumberOperation.State.SUCCEEDED:
            return Finding("released", operation.e164)
        return Finding("still_pending", operation.e164, operation.error)
    if operation.order_id:
        purchase = adapter.order_status(operation.order_id)
    else:
        orders = adapter.find_orders(operation.reference)
        purchase = orders[0] if orders else None
    if purchase is None:
        buy_failed(operation, message="The provider has no record of this purchase: nothing was bought.")
        return Finding("failed_purchase", operation.e164, "no order at the provider")
    if purchase.status == "failed":
        buy_failed(operation, message="The provider could not complete the order: nothing was bought.")
        return Finding("failed_purchase", operation.e164, "order failed")
    if purchase.status == "pending":
        if operation.state != NumberOperation.State.PENDING:
            buy_settled(operation, purchase)
        return Finding("still_pending", operation.e164)
    buy_settled(operation, purchase)
    return Finding("settled_purchase", operation.e164, purchase.ref or "")


def reconcile_connection(connection: ProviderConnection) -> list[Finding]:
    """Compare the account's numbers with Dialtone's: released elsewhere, re-routed, bought but unrecorded."""
    findings: list[Finding] = []
    adapter = connection_adapter(connection)
    listing = adapter.list_owned(max_items=RECONCILE_LIST_MAX_ITEMS)
    owned = {n.e164: n for n in listing}
    # Read in chunks, sharing the one connection: every row and a connection (its credentials decrypted) per
    # row at once stayed resident in the worker thread's malloc arena after the task (config/memory.py).
    ours = PhoneNumber.objects.filter(connection=connection, state=PhoneNumber.State.ACTIVE)
    known = set()
    for number in ours.iterator(chunk_size=2000):
        number.connection = connection
        known.add(number.e164)
        at_provider = owned.get(number.e164)
        if at_provider is None and listing.truncated:
            at_provider = adapter.find_owned(number.e164)  # beyond the listing's cap: ask for it alone
        if at_provider is None:
            with transaction.atomic():
                PhoneNumber.objects.filter(pk=number.pk).update(
                    state=PhoneNumber.State.RELEASED, finished_at=timezone.now()
                )
                audit(
                    actor=None,
                    action="number.released_elsewhere",
                    target=number,
                    detail="no longer in the provider account",
                )
            findings.append(Finding("released_elsewhere", number.e164))
        elif (
            number.inbound_agent_id
            and registry.get(connection.provider).routes_each_number
            and at_provider.routing.voice_url != webhook_url(connection)
        ):
            audit(
                actor=None,
                action="number.rerouted_elsewhere",
                target=number,
                found=at_provider.routing.voice_url or "",
            )
            number_route(number=number, actor=None)
            findings.append(Finding("rerouted", number.e164, at_provider.routing.voice_url or ""))
    held_elsewhere = set(
        PhoneNumber.unscoped.filter(e164__in=list(owned), state__in=PhoneNumber.HELD_STATES).values_list(
            "e164", flat=True
        )
    )
    for e164 in sorted(set(owned) - known - held_elsewhere):
        findings.append(Finding("unrecorded", e164, "in the account, not in Dialtone: link it or release it"))
    return findings


def reconcile_all(*, now=None) -> list[Finding]:
    """Every open operation past its grace period, then every verified connection's numbers."""
    now = now or timezone.now()
    findings: list[Finding] = []
    with all_workspaces():
        operations = list(
            NumberOperation.objects.filter(
                state__in=NumberOperation.OPEN_STATES, created_at__lt=now - GRACE
            ).select_related("connection", "workspace", "number")
        )
        pairs = (
            PhoneNumber.objects.filter(state=PhoneNumber.State.ACTIVE)
            .values_list("workspace_id", "connection_id")
            .order_by()  # the model orders by e164: kept, DISTINCT would give one pair per number
            .distinct()
        )
        workspaces = Workspace.objects.in_bulk({w for w, _ in pairs})
        connections = ProviderConnection.objects.in_bulk({c for _, c in pairs})
        to_check = [(workspaces[w], connections[c]) for w, c in pairs]
    for operation in operations:
        with workspace_scope(operation.workspace):
            try:
                finding = reconcile_operation(operation)
            except (ProviderError, ProviderUnavailable) as exc:
                finding = Finding("still_pending", operation.e164, exc.message)
            if finding:
                findings.append(finding)
    for workspace, connection in to_check:
        with workspace_scope(workspace):
            try:
                findings.extend(reconcile_connection(connection))
            except (ProviderError, ProviderUnavailable) as exc:
                findings.append(Finding("unreachable", connection.label, exc.message))
    return findings
