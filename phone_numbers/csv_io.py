"""Numbers as CSV: the export (streamed, one server-side cursor, flat memory) and the import (a preview of
every row's change and error, written as a BulkJob waiting for confirmation; then run by bulk.py).

Export and import share COLUMNS, so a file exported here imports back to the same setup."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection as db
from django.db import transaction
from django.db.models import CharField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import StreamingHttpResponse
from django.utils import timezone

from phone_numbers.models import BulkJob, BulkJobItem, PhoneNumber, Tag
from phone_numbers.selectors import PAGE_ORDER, managed_numbers_to_link
from phone_numbers.services import NumberRefused, check_assignment, normalize_e164, number_link, number_update
from phone_numbers.tags import clean_tag_names
from providers import registry
from providers.adapters.base import RECONCILE_LIST_MAX_ITEMS, ProviderError, ProviderUnavailable
from providers.models import ProviderConnection
from providers.services import connection_adapter
from tenants.audit import audit, via
from tenants.display import phone
from tenants.models import Environment
from tenants.scope import current_workspace

COLUMNS = ("number", "environment", "agent", "variant", "tags", "provider", "connection", "health", "state")
EXPORT_CHUNK = 5_000  # rows per fetch of the server-side cursor
MAX_ROWS = 100_000
TAG_SPLIT = re.compile(r"[\s,;|]+")
Item = BulkJobItem.State


# ---- Export -------------------------------------------------------------------------------------


class _Line:
    """A file-like that hands back what csv.writer wrote: one row, as text, no buffer kept."""

    def write(self, text: str) -> str:
        return text


HEADER = ",".join(COLUMNS) + "\n"


def numbers_export_response(numbers: QuerySet[PhoneNumber], workspace_slug: str) -> StreamingHttpResponse:
    """The download the page and the API answer with: the CSV streamed, named for the workspace and minute."""
    response = StreamingHttpResponse(numbers_export_lines(numbers), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="numbers-{workspace_slug}-{stamp}.csv"'
    return response


def numbers_export_lines(numbers: QuerySet[PhoneNumber]) -> Iterator[str | bytes]:
    """The CSV of `numbers` in page order, in chunks. On PostgreSQL the database writes it (COPY … TO STDOUT
    WITH CSV, read block by block: flat memory, no row in Python), naming ids from small maps sent with
    the query (no join per row); elsewhere rows are named from the same maps in Python.
    Everything that needs the request's workspace scope is read here: the chunks are made after the view
    returned, from a queryset that carries its workspace already."""
    names = _names()
    if db.vendor == "postgresql":
        try:
            sql, params = _export_query(numbers, names).query.sql_with_params()
        except EmptyResultSet:  # .none(): an unknown tag or a search with letters matches nothing
            return iter([HEADER])
        return _copied(sql, params)
    fields = (
        "e164",
        "environment_id",
        "inbound_agent_id",
        "inbound_variant_id",
        "connection_id",
        "health",
        "state",
    )
    return _export(numbers.order_by(*PAGE_ORDER).values_list("pk", *fields), names)


def _names() -> tuple[dict, ...]:
    """id -> name of the workspace's environments, connections (provider, label), agents, variants, tags."""
    from agents.models import Agent, Variant

    providers = dict(registry.choices())
    connections = {
        pk: (providers.get(provider, provider), label)
        for pk, provider, label in ProviderConnection.unscoped.filter(
            Q(workspace=current_workspace()) | Q(workspace__isnull=True)
        ).values_list("pk", "provider", "label")
    }
    return (
        dict(Environment.objects.values_list("pk", "kind")), connections,
        dict(Agent.objects.values_list("pk", "name")), dict(Variant.objects.values_list("pk", "name")),
        dict(Tag.objects.values_list("pk", "name")),
    )  # fmt: skip


def _export_query(numbers: QuerySet[PhoneNumber], names: tuple[dict, ...]) -> QuerySet:
    """The export's columns as one query over the numbers alone: each id named from a map sent as a
    parameter (a workspace has few environments, accounts, agents, variants and tags), tags from the
    number's tag_ids array, sorted as Python sorts ("C")."""
    environments, connections, agents, variants, tags = names
    table = PhoneNumber._meta.db_table

    def named(column: str, mapping: dict, index: str = "") -> RawSQL:
        values = {str(k): v for k, v in mapping.items()}
        # Constant SQL: the table and column by name; the map is a parameter (a constant, parsed once).
        # An id without a name (none set) is NULL, which COPY writes as an empty cell, as Python's path does.
        path = f"-> {table}.{column}::text ->> {index}" if index else f"->> {table}.{column}::text"
        return RawSQL(f"%s::jsonb {path}", (json.dumps(values),), output_field=CharField())  # noqa: S611

    tag_sql = (
        f"nullif(array_to_string(ARRAY(SELECT x.n FROM unnest({table}.tag_ids) t "  # noqa: S608
        "CROSS JOIN LATERAL (SELECT %s::jsonb ->> t::text) x (n) ORDER BY x.n COLLATE \"C\"), ' '), '')"
    )
    tag_names = RawSQL(tag_sql, (json.dumps({str(k): v for k, v in tags.items()}),), CharField())  # noqa: S611
    return (
        numbers.order_by(*PAGE_ORDER)
        .annotate(
            x_env=named("environment_id", environments), x_agent=named("inbound_agent_id", agents),
            x_variant=named("inbound_variant_id", variants), x_tags=tag_names,
            x_provider=named("connection_id", connections, "0"),
            x_connection=named("connection_id", connections, "1"),
        )
        .values_list("e164", "x_env", "x_agent", "x_variant", "x_tags", "x_provider", "x_connection", "health", "state")
    )  # fmt: skip


def _copied(sql: str, params) -> Iterator[bytes]:
    yield HEADER.encode()
    buffer = bytearray()
    with (
        db.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy,
    ):
        for block in copy:  # a row each: gathered to ~64 kB, so the response handles few chunks
            buffer += block
            if len(buffer) >= 65_536:
                yield bytes(buffer)
                buffer.clear()
    yield bytes(buffer)


def _export(rows: QuerySet, names: tuple) -> Iterator[str]:
    writer = csv.writer(_Line(), lineterminator="\n")
    yield HEADER
    batch: list = []
    for row in rows.iterator(chunk_size=EXPORT_CHUNK):
        batch.append(row)
        if len(batch) == EXPORT_CHUNK:
            yield _lines(writer, batch, *names)
            batch = []
    yield _lines(writer, batch, *names)


def _lines(writer, batch, environments, connections, agents, variants, tags) -> str:
    """One chunk per batch: a chunk per line cost the response more than the line."""
    tag_ids = {row[0]: [] for row in batch}
    links = PhoneNumber.tags.through.objects.filter(phonenumber_id__in=list(tag_ids))
    for number_id, tag_id in links.values_list("phonenumber_id", "tag_id"):
        tag_ids[number_id].append(tag_id)
    lines = []
    for pk, e164, env, agent, variant, conn, health, state in batch:
        provider, label = connections.get(conn, ("", ""))
        lines.append(writer.writerow((
            e164, environments.get(env, ""), agents.get(agent, ""), variants.get(variant, ""),
            " ".join(sorted(tags[t] for t in tag_ids[pk] if t in tags)), provider, label, health, state,
        )))  # fmt: skip
    return "".join(lines)


# ---- Import: the preview ------------------------------------------------------------------------


@dataclass
class _Lookups:
    """What every row is checked against, read once per file."""

    environments: dict[str, Environment]
    connections: dict[str, ProviderConnection]
    agents: dict[str, object]
    variants: dict[tuple[int, str], object]
    tags: set[str]
    owned: dict[int, set[str] | str] = field(default_factory=dict)  # connection -> numbers, or why unread
    # What each cell's number is in E.164, or why it is not one: parsed once per file, not once per look.
    numbers: dict[str, str | ValidationError] = field(default_factory=dict)

    def e164(self, raw: str) -> str:
        if raw not in self.numbers:
            try:
                self.numbers[raw] = normalize_e164(raw)
            except ValidationError as exc:
                self.numbers[raw] = exc
        found = self.numbers[raw]
        if isinstance(found, ValidationError):
            raise found
        return found


def import_preview(
    *, actor, data: bytes, connection: ProviderConnection | None, environment: Environment
) -> BulkJob:
    """Read the CSV and record, per row, what it would change or why it can't: a BulkJob in preview.
    Nothing about any number is written. ValidationError when the file as a whole can't be read."""
    rows, header = _read(data)
    lookups = _lookups(connection)
    held = _held(rows, header, lookups)
    items, seen = [], {}
    workspace = current_workspace()
    for index, row in rows:
        item = BulkJobItem(workspace=workspace, row=index)
        try:
            item.e164, item.payload, number_id = _plan(
                row, header, lookups, held, seen, connection, environment
            )
            item.number_id = number_id
            seen[item.e164] = index
        except (ValidationError, NumberRefused) as exc:
            item.state = Item.INVALID
            item.message = (" ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))[:300]
            item.e164 = item.e164 or _cell(row, header, "number")[:40]
        items.append(item)
    with transaction.atomic():
        job = BulkJob.objects.create(
            kind=BulkJob.Kind.IMPORT, actor=actor, state=BulkJob.State.PREVIEW,
            params={"rows": len(items), "invalid": sum(i.state == Item.INVALID for i in items)},
        )  # fmt: skip
        for item in items:
            item.job = job
        BulkJobItem.objects.bulk_create(items, batch_size=5_000)
        job.total = len(items) - job.params["invalid"]
        job.save(update_fields=["total"])
    return job


def import_confirm(*, job: BulkJob, actor) -> BulkJob:
    """Start a previewed import: its valid rows become the job's work."""
    from phone_numbers.bulk import BulkRefused, bulk_job_enqueue

    with transaction.atomic():
        locked = BulkJob.objects.select_for_update().get(pk=job.pk)
        if locked.state != BulkJob.State.PREVIEW:
            return locked  # a double submit: the first one started it
        if not locked.total:
            raise BulkRefused("No row of this file can be imported: fix the rows listed and upload it again.")
        locked.state = BulkJob.State.QUEUED
        locked.actor = actor
        if via():  # its run's audit events name the API key, as the confirming request's do
            locked.params = locked.params | {"via": via()}
        locked.save(update_fields=["state", "actor", "params"])
        audit(actor=actor, action="numbers.bulk_started", target=locked, kind=locked.kind, total=locked.total)
        transaction.on_commit(lambda: bulk_job_enqueue(locked.pk))
    return locked


def _read(data: bytes) -> tuple[list[tuple[int, list[str]]], dict[str, int]]:
    if b"\x00" in data[:8192]:
        raise ValidationError("That is not a CSV file. Save it as CSV (comma-separated values).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text. Save it as “CSV UTF-8”.") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise ValidationError(f"The file is not valid CSV ({exc}).") from None
    if not rows:
        raise ValidationError("The file is empty: export numbers first to see the columns.")
    header = {name.strip().lower(): i for i, name in enumerate(rows[0]) if name.strip()}
    if "number" not in header:
        raise ValidationError(
            f"The first row must name the columns, one of them “number”: {', '.join(COLUMNS)}."
        )
    body = [(i, row) for i, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]
    if not body:
        raise ValidationError("The file has no numbers: put one number per row under the header.")
    if len(body) > MAX_ROWS:
        raise ValidationError(f"A file takes at most {MAX_ROWS:,} rows ({len(body):,} given); split it.")
    return body, header


def _cell(row: list[str], header: dict[str, int], name: str) -> str:
    i = header.get(name)
    return row[i].strip() if i is not None and i < len(row) else ""


def _lookups(default: ProviderConnection | None) -> _Lookups:
    from agents.models import Agent, Variant
    from providers.selectors import managed_connections, workspace_connections

    environments = {}
    for env in Environment.objects.all():
        environments[env.kind] = environments[env.get_kind_display().lower()] = env
    connections = {c.label.lower(): c for c in [*managed_connections(), *workspace_connections()]}
    if default is not None:
        connections.setdefault(default.label.lower(), default)
    return _Lookups(
        environments=environments,
        connections=connections,
        agents={a.name.lower(): a for a in Agent.objects.all()},
        variants={(v.agent_id, v.name.lower()): v for v in Variant.objects.all()},
        tags=set(Tag.objects.values_list("name", flat=True)),
    )


def _held(rows, header, lookups: _Lookups) -> dict[str, dict]:
    """Every row's number held anywhere in Dialtone: its workspace and, when it is this one's, its setup."""
    wanted = []
    for _, row in rows:
        try:
            wanted.append(lookups.e164(_cell(row, header, "number")))
        except ValidationError:
            continue
    workspace = current_workspace()
    found: dict[str, dict] = {}
    for start in range(0, len(wanted), 5_000):
        numbers = PhoneNumber.unscoped.filter(
            e164__in=wanted[start : start + 5_000], state__in=PhoneNumber.HELD_STATES
        )
        for n in numbers.values(
            "pk", "e164", "workspace_id", "environment_id", "inbound_agent_id", "inbound_variant_id"
        ):
            n["tags"] = []
            found[n["e164"]] = n
    mine = {n["pk"]: n for n in found.values() if n["workspace_id"] == workspace.pk}
    ids = list(mine)
    for start in range(0, len(ids), 5_000):
        links = PhoneNumber.tags.through.objects.filter(phonenumber_id__in=ids[start : start + 5_000])
        for number_id, name in links.values_list("phonenumber_id", "tag__name"):
            mine[number_id]["tags"].append(name)
    return found


def _plan(row, header, lookups: _Lookups, held, seen, default_connection, default_environment):
    """(E.164, the change to make, the number's id when it is already here) or ValidationError."""
    e164 = lookups.e164(_cell(row, header, "number"))
    if e164 in seen:
        raise ValidationError(f"{phone(e164)} is also in row {seen[e164]}; keep one row per number.")
    current = held.get(e164)
    if current is not None and current["workspace_id"] != current_workspace().pk:
        raise NumberRefused(f"{phone(e164)} is already in Dialtone, in another workspace.")

    env_name = _cell(row, header, "environment").lower()
    if env_name:
        environment = lookups.environments.get(env_name)
        if environment is None:
            raise ValidationError(f"Unknown environment “{env_name[:30]}”: use live, pre-release or sandbox.")
    elif current is not None:
        environment = next(e for e in lookups.environments.values() if e.pk == current["environment_id"])
    else:
        environment = default_environment

    agent = variant = None
    set_agent = "agent" in header
    if set_agent and (name := _cell(row, header, "agent")):
        agent = lookups.agents.get(name.lower())
        if agent is None:
            raise ValidationError(f"Unknown agent “{name[:40]}”.")
    elif not set_agent and current is not None:
        agent = next((a for a in lookups.agents.values() if a.pk == current["inbound_agent_id"]), None)
    if "variant" in header and (name := _cell(row, header, "variant")):
        if agent is None:
            raise ValidationError(f"Variant “{name[:40]}” needs an agent in the agent column.")
        variant = lookups.variants.get((agent.pk, name.lower()))
        if variant is None:
            raise ValidationError(f"Unknown variant “{name[:40]}” of {agent.name}.")
    elif "variant" not in header and current is not None and not set_agent:
        variant = next((v for v in lookups.variants.values() if v.pk == current["inbound_variant_id"]), None)
    check_assignment(environment=environment, agent=agent, variant=variant)

    set_tags = "tags" in header
    tags = current["tags"] if current is not None else []
    if set_tags:
        tags = clean_tag_names(t for t in TAG_SPLIT.split(_cell(row, header, "tags")) if t)
        unknown = [t for t in tags if t not in lookups.tags]
        if unknown:
            raise ValidationError(
                f"Unknown tag{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: add "
                f"{'them' if len(unknown) > 1 else 'it'} to a number first, or leave {'them' if len(unknown) > 1 else 'it'} out."
            )
    setup = {
        "environment": environment.pk, "agent": agent.pk if agent else None,
        "variant": variant.pk if variant else None, "tags": sorted(tags),
    }  # fmt: skip
    if current is not None:
        changes = _changes(current, setup, lookups)
        return (
            e164,
            setup | {"action": "update" if changes else "none", "changes": changes or "No change."},
            current["pk"],
        )

    label = _cell(row, header, "connection")
    conn = lookups.connections.get(label.lower()) if label else default_connection
    if conn is None:
        raise ValidationError(
            f"Unknown connection “{label[:40]}”."
            if label
            else "Choose the account connection these numbers are in."
        )
    owned = _owned(lookups, conn)
    if isinstance(owned, str):
        raise ValidationError(owned)
    if e164 not in owned:
        raise ValidationError(
            f"{phone(e164)} is not in the {conn.get_provider_display()} account “{conn.label}”."
        )
    env_label = environment.get_kind_display()
    extra = [f"agent {agent.name}" + (f" / {variant.name}" if variant else "")] if agent else []
    extra += [f"tags {' '.join(sorted(tags))}"] if tags else []
    changes = f"Link from “{conn.label}” into {env_label}" + (f", {', '.join(extra)}" if extra else "") + "."
    return e164, setup | {"action": "link", "connection": conn.pk, "changes": changes}, None


def _changes(current: dict, setup: dict, lookups: _Lookups) -> str:
    def env_name(pk):
        return next(e.get_kind_display() for e in lookups.environments.values() if e.pk == pk)

    def agent_name(pk):
        return next((a.name for a in lookups.agents.values() if a.pk == pk), "none") if pk else "none"

    def variant_name(pk):
        return next((v.name for v in lookups.variants.values() if v.pk == pk), "default") if pk else "default"

    said = []
    if current["environment_id"] != setup["environment"]:
        said.append(f"environment {env_name(current['environment_id'])} → {env_name(setup['environment'])}")
    if current["inbound_agent_id"] != setup["agent"]:
        said.append(f"agent {agent_name(current['inbound_agent_id'])} → {agent_name(setup['agent'])}")
    if current["inbound_variant_id"] != setup["variant"]:
        said.append(
            f"variant {variant_name(current['inbound_variant_id'])} → {variant_name(setup['variant'])}"
        )
    before, after = set(current["tags"]), set(setup["tags"])
    if before != after:
        added, removed = sorted(after - before), sorted(before - after)
        said += [f"add tags {' '.join(added)}"] if added else []
        said += [f"remove tags {' '.join(removed)}"] if removed else []
    text = "; ".join(said)
    return f"{text[:1].upper()}{text[1:]}." if said else ""


def _owned(lookups: _Lookups, conn: ProviderConnection) -> set[str] | str:
    """The numbers the account holds (one listing per file), or why they could not be read."""
    if conn.pk not in lookups.owned:
        if conn.is_managed:
            lookups.owned[conn.pk] = set(managed_numbers_to_link(conn).values_list("e164", flat=True))
        else:
            try:
                listing = connection_adapter(conn).list_owned(max_items=RECONCILE_LIST_MAX_ITEMS)
                lookups.owned[conn.pk] = {n.e164 for n in listing}
            except (ProviderError, ProviderUnavailable) as exc:
                lookups.owned[conn.pk] = (
                    f"{conn.get_provider_display()} did not list “{conn.label}”: {exc.message}"
                )
    return lookups.owned[conn.pk]


# ---- Import: one row ----------------------------------------------------------------------------


def import_row_apply(*, job: BulkJob, item: BulkJobItem, number: PhoneNumber | None) -> str:
    """Make the number what its row said: link it, or update it. A row linked by a run that crashed
    before writing its result is found here, and updated (to the same setup) instead."""
    from agents.models import Agent, Variant

    plan = item.payload
    environment = Environment.objects.get(pk=plan["environment"])
    agent = Agent.objects.filter(pk=plan["agent"]).first() if plan["agent"] else None
    variant = Variant.objects.filter(pk=plan["variant"]).first() if plan["variant"] else None
    if (plan["agent"] and agent is None) or (plan["variant"] and variant is None):
        raise NumberRefused("Its agent or variant was deleted after the preview.")
    here = (
        PhoneNumber.objects.select_related("environment", "connection")
        .filter(e164=item.e164, state__in=PhoneNumber.HELD_STATES)
        .first()
    )
    if here is None:
        if plan["action"] != "link":
            raise NumberRefused(f"{phone(item.e164)} left this workspace after the preview.")
        conn = ProviderConnection.unscoped.filter(
            Q(workspace=job.workspace) | Q(workspace__isnull=True), pk=plan["connection"]
        ).first()
        if conn is None:
            raise NumberRefused("Its account connection was removed after the preview.")
        linked = number_link(
            workspace=job.workspace, actor=job.actor, connection=conn, environment=environment,
            e164=item.e164, agent=agent, variant=variant, tag_names=plan["tags"],
        )  # fmt: skip
        BulkJobItem.objects.filter(pk=item.pk).update(number=linked)
        return plan["changes"]
    unchanged = as_planned(here, sorted(t.name for t in here.tags.all()), plan)
    if unchanged:
        return unchanged
    number_update(
        number=here, actor=job.actor, version=here.version, environment=environment,
        agent=agent, variant=variant, tag_names=plan["tags"],
    )  # fmt: skip
    return plan["changes"]


def as_planned(number: PhoneNumber, tags: list[str], plan: dict) -> str:
    """The row's result when the number is already set up as its row says (a re-run, or nothing to do);
    "" when it still needs the change."""
    same = (
        number.environment_id == plan["environment"] and number.inbound_agent_id == plan["agent"]
        and number.inbound_variant_id == plan["variant"] and tags == plan["tags"]
    )  # fmt: skip
    if not same:
        return ""
    return "No change." if plan["action"] == "none" else plan["changes"]
