"""The set-based chunks of tag, untag and import jobs (phone_numbers/bulk_tags.py, import_run.py): what each
row gets is what the one-number services give it, a refused row writes nothing, a crash leaves a chunk
wholly done or wholly to do, and the statements a chunk takes do not grow with its size."""

import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.db import connection as db
from django.db import transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.services import agent_create, variant_create, variant_publish
from phone_numbers.bulk import bulk_job_create, bulk_job_run, bulk_selection
from phone_numbers.csv_io import import_confirm, import_preview
from phone_numbers.models import BulkJob, PhoneNumber, Tag
from phone_numbers.services import number_buy, number_detach, number_link
from providers.models import ProviderConnection
from providers.sandbox.adapter import inventory
from providers.sandbox.store import DatabaseStore
from tenants import signals as tenant_signals
from tenants.display import phone
from tenants.models import AuditEvent, Environment
from tenants.scope import workspace_scope
from tests.helpers import owner_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(acme):
    with workspace_scope(acme):
        conn = ProviderConnection.objects.create(provider="sandbox", label="Main account")
        live = Environment.objects.get(kind="live")
        yield {"ws": acme, "actor": owner_of(acme), "connection": conn, "live": live}


def buy(desk, count: int, *, start: int = 100, tags=()):
    """Numbers in the sandbox account, linked (number_link) with these tags."""
    store = DatabaseStore(desk["connection"].pk)
    numbers = []
    for i in range(count):
        e164 = f"+1415555{start + i:04d}"
        store.add(e164, reference="owned")
        numbers.append(
            number_link(
                workspace=desk["ws"],
                actor=desk["actor"],
                connection=desk["connection"],
                environment=desk["live"],
                e164=e164,
                tag_names=list(tags),
            )  # fmt: skip
        )
    return numbers


def tag_job(desk, numbers, kind="tag", tags=("wave",)):
    with transaction.atomic():
        job = bulk_job_create(
            kind=kind, actor=desk["actor"], selection=bulk_selection(ids=[n.pk for n in numbers]),
            params={"tags": list(tags)},
        )  # fmt: skip
    return job


def import_job(desk, text: str) -> BulkJob:
    job = import_preview(actor=desk["actor"], data=text.encode(), connection=desk["connection"],
                         environment=desk["live"])  # fmt: skip
    return import_confirm(job=job, actor=desk["actor"])


def owned(desk, count: int, start: int = 300, numbers=None) -> list[str]:
    """Numbers the sandbox account holds, not yet in Dialtone (`numbers`, or count of them from `start`)."""
    numbers = numbers or [f"+1415555{start + i:04d}" for i in range(count)]
    store = DatabaseStore(desk["connection"].pk)
    for e164 in numbers:
        store.add(e164, reference="owned")
    return numbers


def results(job) -> dict[str, tuple[str, str]]:
    return {i.e164: (i.state, i.message) for i in job.items.all()}


def queries_of_run(job) -> int:
    with CaptureQueriesContext(db) as captured:
        bulk_job_run(job_id=job.pk)
    return len(captured)


# ---- Tags ---------------------------------------------------------------------------------------


def test_a_tag_chunk_takes_as_many_statements_for_12_numbers_as_for_3(desk):
    few, many = buy(desk, 3), buy(desk, 12, start=200)
    Tag.objects.create(name="wave")  # created by neither job: both then take the same statements

    small, large = queries_of_run(tag_job(desk, few)), queries_of_run(tag_job(desk, many))

    assert small == large, (small, large)
    assert PhoneNumber.objects.filter(tags__name="wave").count() == 15
    assert AuditEvent.objects.filter(action="number.updated").count() == 15


def test_refused_rows_of_a_tag_chunk_write_nothing_and_say_why(desk):
    numbers = buy(desk, 4, tags=["first"])
    released, held, full, fine = numbers
    job = tag_job(desk, numbers, tags=["wave"])
    PhoneNumber.objects.filter(pk=released.pk).update(state="released")
    PhoneNumber.objects.filter(pk=held.pk).update(release_at=timezone.now() + timedelta(days=3))
    for i in range(Tag.MAX_PER_NUMBER - 1):
        full.tags.add(Tag.objects.create(name=f"t{i}"))
    versions = dict(PhoneNumber.objects.values_list("pk", "version"))
    heard = []

    def hear(sender, event, **kwargs):
        heard.append(event.action)

    tenant_signals.audited.connect(hear, weak=False)
    try:
        bulk_job_run(job_id=job.pk)
    finally:
        tenant_signals.audited.disconnect(hear)

    job.refresh_from_db()
    said = results(job)
    assert (job.done_count, job.failed_count) == (1, 3)
    assert said[released.e164] == ("failed", "+1 415-555-0100 is released; it can't be edited.")
    assert said[held.e164][0] == "failed" and "Restore it before editing it." in said[held.e164][1]
    assert said[full.e164] == ("failed", "A number can carry at most 20 tags (21 given).")
    assert said[fine.e164] == ("done", "Tagged wave.")
    assert list(PhoneNumber.objects.filter(tags__name="wave").values_list("pk", flat=True)) == [fine.pk]
    now = dict(PhoneNumber.objects.values_list("pk", "version"))
    assert {pk: now[pk] - versions[pk] for pk in now} == {released.pk: 0, held.pk: 0, full.pk: 0, fine.pk: 1}
    updated = AuditEvent.objects.get(action="number.updated")
    assert updated.target_id == str(fine.pk) and updated.details == {
        "changed": {"tags": [["first"], ["first", "wave"]]}
    }
    assert heard.count("number.updated") == 1  # outbound events hear every bulk-written audit event


def test_an_untag_chunk_removes_only_the_named_tags(desk):
    numbers = buy(desk, 3, tags=["first", "keep"])
    job = tag_job(desk, numbers[:2], kind="untag", tags=["first"])

    bulk_job_run(job_id=job.pk)

    names = {n.e164: sorted(t.name for t in n.tags.all()) for n in PhoneNumber.objects.all()}
    assert names == {"+14155550100": ["keep"], "+14155550101": ["keep"], "+14155550102": ["first", "keep"]}
    assert set(results(job).values()) == {("done", "Untagged first.")}


# ---- Import -------------------------------------------------------------------------------------


def test_an_import_chunk_takes_as_many_statements_for_12_rows_as_for_3(desk):
    small_rows, large_rows = owned(desk, 3), owned(desk, 12, start=400)
    Tag.objects.create(name="sales")
    small = import_job(desk, "number,tags\n" + "".join(f"{e},sales\n" for e in small_rows))
    large = import_job(desk, "number,tags\n" + "".join(f"{e},sales\n" for e in large_rows))

    assert queries_of_run(small) == queries_of_run(large)
    assert PhoneNumber.objects.filter(state="active", tags__name="sales").count() == 15
    assert AuditEvent.objects.filter(action="number.linked").count() == 15


class Crash(BaseException):
    """A worker dying mid-chunk: not an Exception, so nothing in the job catches it."""


def test_an_import_that_crashed_mid_chunk_is_resumed_and_links_each_row_once(desk, monkeypatch):
    monkeypatch.setattr("phone_numbers.bulk.BATCH_CHUNK", 3)
    rows = owned(desk, 7)
    job = import_job(desk, "number\n" + "".join(f"{e}\n" for e in rows))
    heard = []

    def die_on_the_fifth(sender, event, **kwargs):
        heard.append(event.target_id)
        if len(heard) == 5:
            raise Crash

    tenant_signals.audited.connect(die_on_the_fifth, weak=False)
    try:
        with pytest.raises(Crash):
            bulk_job_run(job_id=job.pk)
    finally:
        tenant_signals.audited.disconnect(die_on_the_fifth)

    # The first chunk is done; the second rolled back whole: its numbers, links, events and results.
    assert job.items.filter(state="done").count() == 3
    assert PhoneNumber.objects.count() == 3
    BulkJob.objects.filter(pk=job.pk).update(lease_until="2000-01-01T00:00Z")
    bulk_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.done_count, job.failed_count) == ("done", 7, 0)
    assert sorted(PhoneNumber.objects.values_list("e164", flat=True)) == rows
    assert AuditEvent.objects.filter(action="number.linked").count() == 7


def test_a_row_refused_at_run_time_writes_nothing_and_the_others_are_linked(desk, globex):
    rows = owned(desk, 4, numbers=sorted(inventory())[:4])  # the sandbox routes the numbers it sells
    agent = agent_create(
        workspace=desk["ws"], actor=desk["actor"], name="Desk", sip_destination="sip:a@x.example"
    )
    text = "number,agent\n" + "".join(f"{e},Desk\n" for e in rows)
    preview = import_preview(actor=desk["actor"], data=text.encode(), connection=desk["connection"],
                             environment=desk["live"])  # fmt: skip
    DatabaseStore(desk["connection"].pk).remove(rows[1])  # gone from the account since the preview
    with workspace_scope(globex):  # and another workspace linked one meanwhile
        theirs = ProviderConnection.objects.create(provider="sandbox", label="Theirs")
        PhoneNumber.objects.create(e164=rows[2], environment=Environment.objects.get(kind="live"),
                                   connection=theirs, state="active")  # fmt: skip
    job = import_confirm(job=preview, actor=desk["actor"])

    bulk_job_run(job_id=job.pk)

    job.refresh_from_db()
    said = results(job)
    assert (job.done_count, job.failed_count) == (2, 2), "\n".join(map(str, results(job).items()))
    assert said[rows[1]] == ("failed", f"{phone(rows[1])} is not in the Sandbox account “Main account”. "
                             "Buy or move it there first, or pick the right account.")  # fmt: skip
    assert said[rows[2]] == ("failed", f"{phone(rows[2])} is already in Dialtone, in another workspace.")
    mine = PhoneNumber.objects.order_by("e164")
    assert [n.e164 for n in mine] == [rows[0], rows[3]] and {n.inbound_agent_id for n in mine} == {agent.pk}
    routed = DatabaseStore(desk["connection"].pk).number(rows[0])
    assert routed.voice_url.endswith("/hooks/sandbox/voice/")  # routed at the provider after the commit
    assert AuditEvent.objects.filter(action="number.routed").count() == 2


def test_an_import_relinks_a_detached_number_as_itself_and_updates_one_here(desk):
    first, second = buy(desk, 2, tags=["old"])
    number_detach(number=first, actor=desk["actor"])
    Tag.objects.create(name="new")

    job = import_job(desk, f"number,tags\n{first.e164},new\n{second.e164},new\n")
    bulk_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.done_count, job.failed_count) == (2, 0)
    back = PhoneNumber.objects.get(e164=first.e164, state="active")
    assert back.pk == first.pk and back.finished_at is None and [t.name for t in back.tags.all()] == ["new"]
    assert [t.name for t in PhoneNumber.objects.get(pk=second.pk).tags.all()] == ["new"]
    updated = AuditEvent.objects.get(action="number.updated")
    assert updated.details == {"changed": {"tags": [["old"], ["new"]]}}
    assert AuditEvent.objects.filter(action="number.relinked", target_id=str(first.pk)).exists()


def test_an_export_imported_into_another_workspace_gives_the_same_numbers_tags_and_agents(desk, globex):
    agent = agent_create(
        workspace=desk["ws"], actor=desk["actor"], name="Front desk", sip_destination="sip:a@x.example"
    )
    variant = variant_create(agent=agent, actor=desk["actor"], name="Spanish")
    variant_publish(variant=variant, environment=desk["live"], actor=desk["actor"])
    for i, (a, v, tags) in enumerate(
        [(agent, variant, ["sales", "us-west"]), (None, None, []), (agent, None, ["sales"])]
    ):
        number_buy(
            workspace=desk["ws"], actor=desk["actor"], idempotency_key=uuid.uuid4().hex,
            connection=desk["connection"], environment=desk["live"], e164=f"+1415555{110 + i:04d}",
            agent=a, variant=v, tag_names=tags,
        )  # fmt: skip
    client = Client()
    client.force_login(desk["actor"])
    before = b"".join(client.get("/w/acme/numbers/export.csv").streaming_content).decode()
    for number in PhoneNumber.objects.all():
        number_detach(number=number, actor=desk["actor"])

    with workspace_scope(globex):
        actor = owner_of(globex)
        theirs = ProviderConnection.objects.create(provider="sandbox", label="Main account")
        for row in list(csv.reader(io.StringIO(before)))[1:]:
            DatabaseStore(theirs.pk).add(row[0], reference="moved")
        agent = agent_create(
            workspace=globex, actor=actor, name="Front desk", sip_destination="sip:b@x.example"
        )
        variant = variant_create(agent=agent, actor=actor, name="Spanish")
        variant_publish(variant=variant, environment=Environment.objects.get(kind="live"), actor=actor)
        Tag.objects.bulk_create([Tag(workspace=globex, name=n) for n in ("sales", "us-west")])
        job = import_preview(actor=actor, data=before.encode(), connection=theirs,
                             environment=Environment.objects.get(kind="sandbox"))  # fmt: skip
        job = import_confirm(job=job, actor=actor)
        bulk_job_run(job_id=job.pk)
        job.refresh_from_db()
        assert (job.done_count, job.failed_count) == (3, 0)
    client.force_login(actor)
    after = b"".join(client.get("/w/globex/numbers/export.csv").streaming_content).decode()
    assert after == before
