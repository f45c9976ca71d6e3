"""Bulk jobs against the sandbox provider (the real adapter, in process): each change through the one-number
services, a result and an audit event per number, and a run after a crash that does nothing twice."""

import uuid

import pytest
from django.db import transaction

from agents.services import agent_create, variant_create, variant_publish
from phone_numbers import signals
from phone_numbers.bulk import BulkRefused, bulk_job_create, bulk_job_run, bulk_selection
from phone_numbers.models import BulkJob, BulkJobItem, NumberOperation, PhoneNumber
from phone_numbers.services import number_buy
from providers.models import ProviderConnection
from providers.sandbox.store import DatabaseStore
from tenants.models import AuditEvent, Environment, Workspace
from tenants.scope import workspace_scope
from tests.helpers import owner_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(acme):
    with workspace_scope(acme):
        connection = ProviderConnection.objects.create(provider="sandbox", label="Sandbox")
        live = Environment.objects.get(kind="live")
        actor = owner_of(acme)
        numbers = [
            number_buy(
                workspace=acme, actor=actor, idempotency_key=uuid.uuid4().hex, connection=connection,
                environment=live, e164=f"+1415555{100 + i:04d}", tag_names=["first"] if i % 2 else [],
            ).number
            for i in range(6)
        ]  # fmt: skip
        yield {"ws": acme, "actor": actor, "connection": connection, "live": live, "numbers": numbers}


def run(desk, kind, *, numbers=None, **params):
    with transaction.atomic():
        selection = bulk_selection(ids=[n.pk for n in numbers or desk["numbers"]])
        job = bulk_job_create(kind=kind, actor=desk["actor"], selection=selection, params=params)
    bulk_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def results(job) -> dict[str, tuple[str, str]]:
    return {i.e164: (i.state, i.message) for i in job.items.all()}


def events(action: str) -> list[str]:
    return list(AuditEvent.objects.filter(action=action).values_list("target_label", flat=True))


def test_bulk_tag_adds_the_tags_to_every_number_with_an_audit_event_each(desk):
    job = run(desk, "tag", tags=["Spring Sale", "first"])

    assert (job.state, job.total, job.done_count, job.failed_count) == ("done", 6, 6, 0)
    for number in PhoneNumber.objects.all():
        assert {t.name for t in number.tags.all()} == {"spring-sale", "first"}
    assert len(events("number.updated")) == 6
    assert results(job)["+14155550101"] == ("done", "Tagged spring-sale.")
    assert results(job)["+14155550100"] == ("done", "Tagged spring-sale, first.")
    assert events("numbers.bulk_started") and events("numbers.bulk_finished")


def test_bulk_untag_removes_only_the_named_tags_and_says_where_there_was_none(desk):
    job = run(desk, "untag", tags=["first"])

    assert job.done_count == 6
    assert not PhoneNumber.objects.filter(tags__name="first").exists()
    assert results(job)["+14155550100"] == ("done", "No change: it has none of these tags.")
    assert results(job)["+14155550101"] == ("done", "Untagged first.")
    assert len(events("number.updated")) == 3


def test_bulk_route_sends_each_number_to_the_agent_and_lists_those_it_cannot(desk):
    agent = agent_create(
        workspace=desk["ws"], actor=desk["actor"], name="Front desk", sip_destination="sip:a@x.example"
    )
    variant = variant_create(agent=agent, actor=desk["actor"], name="Spanish")
    variant_publish(variant=variant, environment=desk["live"], actor=desk["actor"])
    sandbox_env = Environment.objects.get(kind="sandbox")
    PhoneNumber.objects.filter(e164="+14155550105").update(environment=sandbox_env, env_rank=2)

    job = run(desk, "route", agent=agent.pk, variant=variant.pk)

    assert (job.done_count, job.failed_count) == (5, 1)
    assert PhoneNumber.objects.filter(inbound_variant=variant).count() == 5
    state, message = results(job)["+14155550105"]
    assert state == "failed" and "not published to Sandbox" in message
    routed = DatabaseStore(desk["connection"].pk).number("+14155550100")
    assert routed.voice_url.endswith("/hooks/sandbox/voice/")  # routed at the provider, by number_route


def test_bulk_detach_leaves_numbers_at_the_provider_and_refuses_managed_ones(desk):
    job = run(desk, "detach", numbers=desk["numbers"][:3])

    assert job.done_count == 3
    assert PhoneNumber.objects.filter(state="detached").count() == 3
    assert DatabaseStore(desk["connection"].pk).number("+14155550100") is not None
    assert len(events("number.detached")) == 3


def test_bulk_delete_holds_each_number_as_the_pages_delete_does(desk):
    job = run(desk, "release", numbers=desk["numbers"][:2])

    assert job.done_count == 2
    held = PhoneNumber.objects.filter(release_at__isnull=False)
    assert held.count() == 2 and set(held.values_list("state", flat=True)) == {"active"}
    assert not NumberOperation.objects.filter(kind="release").exists()  # released when the hold ends
    assert DatabaseStore(desk["connection"].pk).number("+14155550100") is not None
    assert len(events("number.hold_started")) == 2
    assert all(m.startswith("Releasing on ") for _, m in results(job).values())


def test_bulk_delete_in_a_workspace_holding_0_days_releases_once_per_number(desk):
    Workspace.objects.filter(pk=desk["ws"].pk).update(release_hold_days=0)
    job = run(desk, "release", numbers=desk["numbers"][:2])

    assert job.done_count == 2
    assert PhoneNumber.objects.filter(state="released").count() == 2
    assert NumberOperation.objects.filter(kind="release", state="succeeded").count() == 2
    assert DatabaseStore(desk["connection"].pk).number("+14155550100") is None
    assert len(events("number.released")) == 2


def test_a_number_gone_before_the_job_ran_is_listed_not_fatal(desk):
    with transaction.atomic():
        job = bulk_job_create(
            kind="tag", actor=desk["actor"], selection=bulk_selection(ids=[n.pk for n in desk["numbers"]]),
            params={"tags": ["x"]},
        )  # fmt: skip
    PhoneNumber.objects.filter(e164="+14155550100").update(state="released")
    bulk_job_run(job_id=job.pk)
    job.refresh_from_db()

    assert (job.done_count, job.failed_count) == (5, 1)
    assert "released; it can't be edited" in results(job)["+14155550100"][1]


class Crash(BaseException):
    """A worker dying mid-chunk: not an Exception, so nothing in the job catches it."""


def test_a_run_that_crashed_mid_chunk_is_resumed_and_changes_each_number_once(desk, monkeypatch):
    monkeypatch.setattr("phone_numbers.bulk.BATCH_CHUNK", 2)  # tag chunks are set-based (bulk_tags.py)
    seen = []

    def die_on_the_fourth(sender, number_ids, **kwargs):  # pools hear a chunk's numbers at once
        seen.extend(number_ids)
        if len(seen) == 4:
            raise Crash

    signals.numbers_changed.connect(die_on_the_fourth, weak=False)
    try:
        with transaction.atomic():
            job = bulk_job_create(
                kind="tag", actor=desk["actor"], selection=bulk_selection(ids=[n.pk for n in desk["numbers"]]),
                params={"tags": ["wave"]},
            )  # fmt: skip
        with pytest.raises(Crash):
            bulk_job_run(job_id=job.pk)
    finally:
        signals.numbers_changed.disconnect(die_on_the_fourth)

    # The first chunk is done; the second rolled back whole (its tags and its results).
    assert job.items.filter(state="done").count() == 2
    assert PhoneNumber.objects.filter(tags__name="wave").count() == 2
    # A second delivery while the lease holds does nothing; once it lapses, it finishes the job.
    bulk_job_run(job_id=job.pk)
    assert job.items.filter(state="pending").count() == 4
    BulkJob.objects.filter(pk=job.pk).update(lease_until="2000-01-01T00:00Z")
    bulk_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.done_count, job.failed_count) == ("done", 6, 0)
    assert PhoneNumber.objects.filter(tags__name="wave").count() == 6
    assert len(events("number.updated")) == 6  # one per number: the rolled-back chunk's went with it


@pytest.mark.parametrize("kind", ["release", "detach"])
def test_a_result_lost_after_the_provider_call_is_not_done_twice(desk, kind):
    job = run(desk, kind, numbers=desk["numbers"][:2])
    # As if the worker died after the provider call, before the result was written.
    BulkJobItem.objects.filter(job=job, e164="+14155550100").update(state="pending", message="")
    BulkJob.objects.filter(pk=job.pk).update(state="running", lease_until=None)

    bulk_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.done_count, job.failed_count) == ("done", 2, 0)
    if kind == "release":
        assert len(events("number.hold_started")) == 2  # the held number is not held again
        assert results(job)["+14155550100"][1].startswith("Releasing on ")
    else:
        assert len(events("number.detached")) == 2


def test_all_matching_the_filter_takes_the_filtered_numbers_only(desk):
    selection = bulk_selection(filter_query="tag=first", everything=True)
    with transaction.atomic():
        job = bulk_job_create(
            kind="untag", actor=desk["actor"], selection=selection, params={"tags": ["first"]}
        )

    assert job.total == 3
    assert sorted(job.items.values_list("e164", flat=True)) == [
        "+14155550101",
        "+14155550103",
        "+14155550105",
    ]


def test_bad_requests_are_refused_with_a_sentence(desk):
    with pytest.raises(BulkRefused, match="Select at least one"):
        bulk_selection(ids=["²", "x"])
    with pytest.raises(BulkRefused, match="None of the selected"):
        bulk_job_create(
            kind="tag", actor=desk["actor"], selection=bulk_selection(ids=[999999]), params={"tags": ["a"]}
        )
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="at least one tag"):
        bulk_job_create(
            kind="tag", actor=desk["actor"], selection=bulk_selection(ids=[1]), params={"tags": []}
        )
    with pytest.raises(ValidationError, match="Choose an agent"):
        bulk_job_create(kind="route", actor=desk["actor"], selection=bulk_selection(ids=[1]), params={})
    assert not BulkJob.objects.exists()


# ---- Through the pages --------------------------------------------------------------------------


def client_of(username):
    from django.test import Client

    from tests.helpers import user

    client = Client()
    client.force_login(user(username))
    return client


def test_the_bulk_modal_starts_a_job_and_goes_to_its_page(desk):
    client = client_of("olga_operator")
    ids = [n.pk for n in desk["numbers"][:2]]

    page = client.get("/w/acme/numbers/bulk/", {"number": ids, "action": "tag"}).content.decode()
    assert "Change 2 numbers" in page and 'name="tags_text"' in page
    refused = client.post("/w/acme/numbers/bulk/", {"number": ids, "action": "tag", "filter": ""})
    assert refused.status_code == 422 and "Enter at least one tag." in refused.content.decode()
    assert not BulkJob.objects.exists()

    response = client.post(
        "/w/acme/numbers/bulk/", {"number": ids, "action": "tag", "tags": "vip", "filter": ""}
    )

    job = BulkJob.objects.get()
    assert response.status_code == 302 and response.url == f"/w/acme/numbers/jobs/{job.pk}/"
    assert (job.kind, job.total, job.params, job.actor.username) == (
        "tag",
        2,
        {"tags": ["vip"]},
        "olga_operator",
    )
    page = client.get(response.url).content.decode()
    assert "<strong>0</strong> of 2 done" in page and 'hx-trigger="every 1s"' in page
    bulk_job_run(job_id=job.pk)
    page = client.get(response.url, {"poll": "1"}, headers={"HX-Request": "true"}).content.decode()
    assert (
        "<strong>2</strong> of 2 done" in page and "every 1s" not in page and page.count("Tagged vip.") == 2
    )


def test_all_matching_takes_the_pages_filter(desk):
    client = client_of("olga_operator")
    form = {"all": "1", "filter": "tag=first", "action": "untag", "tags": "first"}

    assert "Change 3 numbers" in client.get("/w/acme/numbers/bulk/", form).content.decode()
    client.post("/w/acme/numbers/bulk/", form)

    assert BulkJob.objects.get().total == 3


def test_release_is_for_admins_and_asks_for_the_count(desk):
    ids = [n.pk for n in desk["numbers"][:2]]
    form = {"number": ids, "filter": "", "confirm": "2"}
    assert client_of("olga_operator").post("/w/acme/numbers/bulk/release/", form).status_code == 403
    assert (
        client_of("olga_operator").post("/w/acme/numbers/bulk/", form | {"action": "release"}).status_code
        == 422
    )
    admin = client_of("alice_admin")

    wrong = admin.post("/w/acme/numbers/bulk/release/", form | {"confirm": "3"})
    assert wrong.status_code == 422 and "Type 2 to release 2 numbers." in wrong.content.decode()
    assert not BulkJob.objects.exists()
    assert admin.post("/w/acme/numbers/bulk/release/", form).status_code == 302

    assert BulkJob.objects.get().kind == "release"


def test_the_numbers_page_offers_a_box_per_number_and_the_bulk_bar_to_operators_only(desk):
    page = client_of("olga_operator").get("/w/acme/numbers/?tag=first").content.decode()
    assert page.count('form="bulk-form"') == 3
    assert 'value="tag=first"' in page and "All 3 matching this filter" in page
    assert 'value="release"' not in page  # admins only
    assert 'value="release"' in client_of("alice_admin").get("/w/acme/numbers/").content.decode()
    viewer = client_of("vic_viewer").get("/w/acme/numbers/").content.decode()
    assert "bulk-form" not in viewer and "Export CSV" in viewer
