"""A confirmed CSV import, a chunk of rows at a time: what number_link and number_update do to one number,
done to the chunk in one transaction with set-based writes (statements per chunk do not grow with its size).

Before the transaction (provider calls never run inside one): each account the chunk links from is listed
once per run (numbers past a truncated listing, and managed accounts, are asked one by one, as
number_link asks). In the transaction: every row checked as number_link / number_update check it
(assignment, held elsewhere, managed numbers, ownership, the plan's limit under the workspace lock, a
detached number relinked as itself, on hold), then one INSERT of the new numbers, one UPDATE each for
relinked and updated ones, their tag links, one audit event per number (each told to `audited`), pools
told once, every row's result in one UPDATE. A crash leaves the chunk wholly done or wholly to do.
After the commit, numbers given an agent are routed at the provider one by one (number_route), as
number_link does; a refused routing turns its row's result into number_link's sentence (reconciliation
retries the routing)."""

from __future__ import annotations

from collections import defaultdict

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from phone_numbers import signals
from phone_numbers.bulk import items_record
from phone_numbers.csv_io import as_planned
from phone_numbers.models import BulkJob, BulkJobItem, PhoneNumber
from phone_numbers.selectors import managed_numbers_to_link
from phone_numbers.services import (
    NumberRefused,
    RoutingFailed,
    _not_in_account,
    number_route,
    refuse_if_on_hold,
)
from phone_numbers.tags import tags_get_or_create
from providers.adapters.base import RECONCILE_LIST_MAX_ITEMS, ProviderError, ProviderUnavailable
from providers.models import ProviderConnection
from providers.selectors import managed_usage
from providers.services import connection_adapter
from tenants.audit import audit_many, changes
from tenants.display import phone
from tenants.models import Environment, Workspace

Item = BulkJobItem.State
HELD = PhoneNumber.HELD_STATES


class _Refused(Exception):
    """One row's refusal: its sentence is its result; nothing of it is written."""


def import_chunk_run(job: BulkJob, items: list[BulkJobItem]) -> None:
    links = [i for i in items if i.payload.get("action") == "link"]
    connections = ProviderConnection.unscoped.filter(
        Q(workspace=job.workspace) | Q(workspace__isnull=True),
        pk__in={i.payload["connection"] for i in links},
    ).in_bulk()
    refs = _refs(job, connections, links)
    with transaction.atomic():
        chunk = _Chunk(job, items, connections, refs)
        for item in items:
            try:
                item.message = chunk.plan(item)
                item.state = Item.DONE
            except _Refused as exc:
                item.state, item.message = Item.FAILED, str(exc)[:300]
        chunk.write()
        items_record(items)
    for item, number in chunk.to_route:
        try:
            number_route(number=number, actor=job.actor)
        except RoutingFailed as exc:
            message = str(exc)
        except Exception as exc:  # one number's surprise never stops the other numbers' routing
            message = f"Saved, but routing it raised {type(exc).__name__}. Reconciliation will retry."
        else:
            continue
        BulkJobItem.objects.filter(pk=item.pk).update(state=Item.FAILED, message=message[:300])


def _refs(job, connections, links) -> dict[str, str]:
    """e164 -> the provider's id of the number in its row's account; a missing e164 is not there, a
    value starting with "!" is why the provider could not say."""
    listings = job.__dict__.setdefault("_listings", {})  # one listing per account per run, not per chunk
    refs: dict[str, str] = {}
    for item in links:
        conn = connections.get(item.payload["connection"])
        if conn is None:
            continue
        if not conn.is_managed and conn.pk not in listings:
            try:
                listing = connection_adapter(conn).list_owned(max_items=RECONCILE_LIST_MAX_ITEMS)
                listings[conn.pk] = ({n.e164: n.ref for n in listing.numbers}, listing.truncated)
            except (ProviderError, ProviderUnavailable):
                listings[conn.pk] = ({}, True)  # ask number by number
        listed, truncated = listings.get(conn.pk, ({}, True))
        if item.e164 in listed:
            refs[item.e164] = listed[item.e164]
        elif truncated:  # past the listing, or a managed account: ask for this number, as number_link does
            try:
                owned = connection_adapter(conn).find_owned(item.e164)
            except (ProviderError, ProviderUnavailable) as exc:
                refs[item.e164] = (
                    f"!{conn.get_provider_display()} did not answer about {phone(item.e164)}: {exc.message} Try again."
                )
                continue
            if owned is not None:
                refs[item.e164] = owned.ref
    return refs


class _Chunk:
    """The chunk's rows read together, checked one by one against what was read, written together."""

    def __init__(self, job, items, connections, refs):
        from agents.models import Agent, Variant

        self.job, self.connections, self.refs = job, connections, refs
        plans = [i.payload for i in items]
        self.envs = Environment.objects.in_bulk({p["environment"] for p in plans})
        self.agents = Agent.objects.in_bulk({p["agent"] for p in plans if p.get("agent")})
        self.variants = Variant.objects.in_bulk({p["variant"] for p in plans if p.get("variant")})
        self.published = set(
            Variant.published_to.through.objects.filter(variant_id__in=list(self.variants)).values_list(
                "variant_id", "environment_id"
            )
        )
        e164s = [i.e164 for i in items]
        self.elsewhere = set(
            PhoneNumber.unscoped.filter(e164__in=e164s, state__in=HELD)
            .exclude(workspace_id=job.workspace_id)
            .values_list("e164", flat=True)
        )
        self.here = {
            n.e164: n
            for n in PhoneNumber.objects.select_for_update(of=("self",))
            .select_related("environment", "connection", "inbound_agent", "inbound_variant")
            .filter(e164__in=e164s, state__in=HELD)
        }
        self.tags: dict[int, list[str]] = defaultdict(list)
        for number_id, name in PhoneNumber.tags.through.objects.filter(
            phonenumber_id__in=[n.pk for n in self.here.values()]
        ).values_list("phonenumber_id", "tag__name"):
            self.tags[number_id].append(name)
        self.slots = None  # managed numbers the plan still allows, read once a managed row needs it
        link_e164s = [i.e164 for i in items if i.payload.get("action") == "link"]
        self.detached: dict[str, PhoneNumber] = {}
        self.linkable: set[str] = set()
        if link_e164s:
            # number_link's plan-limit lock: held until the chunk commits, so no other link takes the slots.
            Workspace.objects.select_for_update().get(pk=job.workspace_id)
            for n in (
                PhoneNumber.objects.select_for_update()
                .filter(e164__in=link_e164s, state=PhoneNumber.State.DETACHED)
                .order_by("e164", "-finished_at", "-pk")
            ):
                self.detached.setdefault(n.e164, n)
            for conn in connections.values():
                if conn.is_managed:
                    self.linkable |= set(
                        managed_numbers_to_link(conn)
                        .filter(e164__in=link_e164s)
                        .values_list("e164", flat=True)
                    )
        self.created: list[tuple[BulkJobItem, PhoneNumber, list[str]]] = []
        self.relinked: list[tuple[BulkJobItem, PhoneNumber, list[str]]] = []
        self.updated: list[tuple[PhoneNumber, list[str], dict]] = []  # number, tags, what changed
        self.to_route: list[tuple[BulkJobItem, PhoneNumber]] = []

    # ---- Checking one row --------------------------------------------------------------------------

    def plan(self, item: BulkJobItem) -> str:
        plan = item.payload
        environment = self.envs.get(plan["environment"])
        agent = self.agents.get(plan["agent"]) if plan.get("agent") else None
        variant = self.variants.get(plan["variant"]) if plan.get("variant") else None
        if (
            environment is None
            or (plan.get("agent") and agent is None)
            or (plan.get("variant") and variant is None)
        ):
            raise _Refused("Its agent or variant was deleted after the preview.")
        here = self.here.get(item.e164)
        if here is None:
            if plan["action"] != "link":
                raise _Refused(f"{phone(item.e164)} left this workspace after the preview.")
            return self._link(item, environment, agent, variant)
        return self._update(item, here, environment, agent, variant)

    def _assignment(self, environment, agent, variant) -> None:
        """check_assignment, against the variants' environments read once."""
        if variant is None:
            return
        if variant.agent_id != agent.pk:
            raise _Refused(f"Variant “{variant.name}” belongs to another agent.")
        if (variant.pk, environment.pk) not in self.published:
            raise _Refused(
                f"Variant “{variant.name}” is not published to {environment}. Publish it there first."
            )

    def _link(self, item, environment, agent, variant) -> str:
        plan, e164 = item.payload, item.e164
        conn = self.connections.get(plan["connection"])
        if conn is None:
            raise _Refused("Its account connection was removed after the preview.")
        self._assignment(environment, agent, variant)
        hidden = str(_not_in_account(e164, conn)) if conn.is_managed else None
        if e164 in self.elsewhere:
            raise _Refused(hidden or f"{phone(e164)} is already in Dialtone, in another workspace.")
        if conn.is_managed and e164 not in self.linkable:
            raise _Refused(hidden)
        ref = self.refs.get(e164)
        if ref is None:
            raise _Refused(str(_not_in_account(e164, conn)))
        if ref.startswith("!"):
            raise _Refused(ref[1:])
        if conn.is_managed:
            self._take_slot()
        fields = {
            "environment": environment, "connection": conn, "provider_ref": ref, "state": PhoneNumber.State.ACTIVE,
            "inbound_agent": agent, "inbound_variant": variant, "env_rank": PhoneNumber.ENV_RANK[environment.kind],
        }  # fmt: skip
        number = self.detached.pop(e164, None)
        if number is not None:  # _relink: the same number back, its history continued
            for name, value in fields.items():
                setattr(number, name, value)
            number.finished_at, number.previous_routing = None, None
            number.version += 1
            self.relinked.append((item, number, plan["tags"]))
        else:
            number = PhoneNumber(workspace=self.job.workspace, e164=e164, added_by=self.job.actor, **fields)
            self.created.append((item, number, plan["tags"]))
        if agent is not None:
            self.to_route.append((item, number))
        return plan["changes"]

    def _take_slot(self) -> None:
        if self.slots is None:
            usage = managed_usage(self.job.workspace)
            self.slots = usage.limit - usage.used
        if self.slots <= 0:
            plan, limit = self.job.workspace.plan, self.job.workspace.plan.managed_number_limit
            raise _Refused(
                f"Your {plan.name} plan includes {limit} managed number{'s' if limit != 1 else ''}, "
                "and they are all in use. Release one, connect your own provider account, or upgrade the plan."
            )
        self.slots -= 1

    def _update(self, item, here: PhoneNumber, environment, agent, variant) -> str:
        plan = item.payload
        tags = sorted(self.tags[here.pk])
        item.number = here
        unchanged = as_planned(here, tags, plan)
        if unchanged:
            return unchanged
        self._assignment(environment, agent, variant)
        try:
            refuse_if_on_hold(here, "editing")
        except NumberRefused as exc:
            raise _Refused(str(exc)) from None
        before = _described(here, tags)
        routing_changed = here.inbound_agent_id != plan["agent"] or here.inbound_variant_id != plan["variant"]
        here.environment, here.inbound_agent, here.inbound_variant = environment, agent, variant
        here.env_rank = PhoneNumber.ENV_RANK[environment.kind]
        here.version += 1
        self.updated.append((here, plan["tags"], changes(before, _described(here, plan["tags"]))))
        if routing_changed and agent is not None and here.state == PhoneNumber.State.ACTIVE:
            self.to_route.append((item, here))
        return plan["changes"]

    # ---- Writing the chunk -------------------------------------------------------------------------

    def write(self) -> None:
        now = timezone.now()
        through = PhoneNumber.tags.through.objects
        new = PhoneNumber.objects.bulk_create([n for _, n, _ in self.created])
        for (item, _, _), number in zip(self.created, new, strict=True):
            item.number = number
        moved = [n for _, n, _ in self.relinked] + [n for n, _, _ in self.updated]
        for number in moved:
            number.updated_at = now
        fields = ["environment", "env_rank", "inbound_agent", "inbound_variant", "version", "updated_at"]
        if self.relinked:
            PhoneNumber.objects.bulk_update(
                [n for _, n, _ in self.relinked],
                [*fields, "connection", "provider_ref", "state", "finished_at", "previous_routing"],
            )
            for item, number, _ in self.relinked:
                item.number = number
        if self.updated:
            _update_rows([n for n, _, _ in self.updated], fields)
        retagged = [(n, t) for _, n, t in self.relinked] + [(n, t) for n, t, c in self.updated if "tags" in c]
        if retagged:
            through.filter(phonenumber_id__in=[n.pk for n, _ in retagged]).delete()
        tagged = [(n, t) for _, n, t in self.created] + retagged
        names = sorted({name for _, t in tagged for name in t})
        if names:
            tags = {t.name: t.pk for t in tags_get_or_create(names)}
            through.bulk_create(
                [through.model(phonenumber_id=n.pk, tag_id=tags[name]) for n, t in tagged for name in t]
            )
        self._audit()
        changed = [n.pk for n, _, _ in self.updated]
        if changed:
            signals.numbers_changed.send(
                sender=PhoneNumber, workspace_id=self.job.workspace_id, number_ids=changed
            )

    def _audit(self) -> None:
        events = []
        for action, rows in (("number.linked", self.created), ("number.relinked", self.relinked)):
            for _, number, tags in rows:
                setup = {k: v for k, v in _described(number, tags).items() if v}
                events.append((action, number, {"connection": number.connection.label, **setup}))
        events += [("number.updated", n, {"changed": c}) for n, _, c in self.updated if c]
        if events:
            audit_many(actor=self.job.actor, workspace=self.job.workspace, events=events)


def _described(number: PhoneNumber, tags: list[str]) -> dict:
    """services._describe, with the tags the chunk has in hand instead of a query per number."""
    return {
        "environment": number.environment.kind,
        "agent": number.inbound_agent.name if number.inbound_agent_id else "",
        "variant": number.inbound_variant.name if number.inbound_variant_id else "",
        "tags": sorted(tags),
    }


def _update_rows(numbers: list[PhoneNumber], names: list[str]) -> None:
    """bulk_update as one UPDATE from arrays, one per field: bulk_update's CASE compares every row with
    every id (a chunk of 1,000 updates is a million comparisons a field)."""
    fields = [PhoneNumber._meta.get_field(name) for name in names]
    sets = ", ".join(f"{f.column} = v.{f.column}" for f in fields)
    arrays = ", ".join(f"%s::{f.cast_db_type(connection)}[]" for f in fields)
    columns = ", ".join(f.column for f in fields)
    values = [[n.pk for n in numbers]]
    values += [[f.get_db_prep_save(getattr(n, f.attname), connection) for n in numbers] for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {PhoneNumber._meta.db_table} n SET {sets} "  # noqa: S608 - names from the model
            f"FROM unnest(%s::bigint[], {arrays}) AS v (id, {columns}) WHERE n.id = v.id",
            values,
        )
