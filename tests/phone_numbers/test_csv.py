"""Numbers as CSV through the pages: a streamed export, an import previewed row by row before anything is
written, then run as a job; an export imported back gives the same numbers."""

import csv
import io
import uuid

import pytest
from django.test import Client

from agents.services import agent_create, variant_create, variant_publish
from phone_numbers.bulk import bulk_job_run
from phone_numbers.models import BulkJob, PhoneNumber
from phone_numbers.services import number_buy, number_detach
from providers.models import ProviderConnection
from providers.sandbox.store import DatabaseStore
from tenants.models import AuditEvent, Environment
from tenants.scope import workspace_scope
from tests.helpers import owner_of, user

pytestmark = pytest.mark.django_db
EXPORT, IMPORT = "/w/acme/numbers/export.csv", "/w/acme/numbers/import/"


@pytest.fixture
def desk(acme, globex):
    with workspace_scope(acme):
        connection = ProviderConnection.objects.create(provider="sandbox", label="Main account")
        env = {e.kind: e for e in Environment.objects.all()}
        actor = owner_of(acme)
        agent = agent_create(
            workspace=acme, actor=actor, name="Front desk", sip_destination="sip:a@x.example"
        )
        variant = variant_create(agent=agent, actor=actor, name="Spanish")
        variant_publish(variant=variant, environment=env["live"], actor=actor)
        setups = [
            ("live", agent, variant, ["sales", "us-west"]),
            ("sandbox", None, None, []),
            ("pre_release", agent, None, ["sales"]),
        ]
        for i, (kind, a, v, tags) in enumerate(setups):
            number_buy(
                workspace=acme, actor=actor, idempotency_key=uuid.uuid4().hex, connection=connection,
                environment=env[kind], e164=f"+1415555{110 + i:04d}", agent=a, variant=v, tag_names=tags,
            )  # fmt: skip
        client = Client()
        client.force_login(actor)
        yield {
            "ws": acme,
            "actor": actor,
            "connection": connection,
            "env": env,
            "agent": agent,
            "client": client,
        }


def export(client, query="") -> str:
    response = client.get(EXPORT + query)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    return b"".join(response.streaming_content).decode()


def upload(desk, text: str, **fields):
    data = {"file": io.BytesIO(text.encode()), "environment": desk["env"]["sandbox"].pk, **fields}
    data["file"].name = "numbers.csv"
    return desk["client"].post(IMPORT, data)


def preview_job(response) -> BulkJob:
    assert response.status_code == 302, response.content.decode()[:2000]
    return BulkJob.objects.get(pk=int(response.url.rstrip("/").rsplit("/", 1)[1]))


def test_export_lists_each_number_with_its_setup(desk):
    rows = list(csv.reader(io.StringIO(export(desk["client"]))))

    assert rows[0] == [
        "number",
        "environment",
        "agent",
        "variant",
        "tags",
        "provider",
        "connection",
        "health",
        "state",
    ]
    assert rows[1:] == [
        ["+14155550110", "live", "Front desk", "Spanish", "sales us-west", "Sandbox", "Main account", "healthy", "active"],
        ["+14155550112", "pre_release", "Front desk", "", "sales", "Sandbox", "Main account", "healthy", "active"],
        ["+14155550111", "sandbox", "", "", "", "Sandbox", "Main account", "healthy", "active"],
    ]  # fmt: skip


def test_export_follows_the_pages_filter(desk):
    rows = list(csv.reader(io.StringIO(export(desk["client"], "?tag=us-west"))))

    assert [r[0] for r in rows[1:]] == ["+14155550110"]
    assert export(desk["client"], "?tag=no-such-tag").count("\n") == 1  # matches nothing: the header only
    assert export(desk["client"], "?q=abc").count("\n") == 1


def test_an_export_imported_back_links_the_same_numbers_with_the_same_setup(desk):
    before = export(desk["client"])
    for number in PhoneNumber.objects.all():
        number_detach(number=number, actor=desk["actor"])  # they stay in the sandbox account
    assert export(desk["client"]).count("\n") == 1

    job = preview_job(upload(desk, before))
    assert (job.state, job.total) == ("preview", 3)
    assert not PhoneNumber.objects.filter(state="active").exists()  # nothing written before confirming
    assert desk["client"].post(f"/w/acme/numbers/jobs/{job.pk}/").status_code == 302
    bulk_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.done_count, job.failed_count) == ("done", 3, 0)
    assert export(desk["client"]) == before
    assert AuditEvent.objects.filter(action="number.relinked").count() == 3


def test_an_import_updates_numbers_already_here_and_the_preview_says_what_changes(desk):
    text = "number,agent,tags\n+14155550111,Front desk,sales\n+14155550110,Front desk,sales us-west\n"

    job = preview_job(upload(desk, text))

    changes = dict(job.items.values_list("e164", "payload__changes"))
    assert changes["+14155550111"] == "Agent none → Front desk; add tags sales."
    assert changes["+14155550110"] == "Variant Spanish → default."  # no variant column: the agent's default
    page = desk["client"].get(f"/w/acme/numbers/jobs/{job.pk}/").content.decode()
    assert "Preview: nothing is written yet" in page and "Import 2 rows" in page
    desk["client"].post(f"/w/acme/numbers/jobs/{job.pk}/")
    bulk_job_run(job_id=job.pk)

    number = PhoneNumber.objects.get(e164="+14155550111")
    assert number.inbound_agent == desk["agent"] and [t.name for t in number.tags.all()] == ["sales"]


def test_the_preview_lists_every_bad_row_and_writes_nothing(desk, globex):
    with workspace_scope(globex):
        other = ProviderConnection.objects.create(provider="sandbox", label="Theirs")
        PhoneNumber.objects.create(
            e164="+14155550199",
            environment=Environment.objects.get(kind="live"),
            connection=other,
            state="active",
        )
    DatabaseStore(desk["connection"].pk).add("+14155550150", reference="owned")
    text = "\n".join([
        "number,environment,agent,tags,connection",
        "+1415555,live,,,",  # not a number
        "14155550300,live,,,",  # no +
        "+14155550151,live,,,",  # not in the account
        "+14155550150,live,Nobody,,",  # unknown agent
        "+14155550150,live,,nope,",  # unknown tag
        "+14155550150,moon,,,",  # unknown environment
        "+14155550150,live,,,Elsewhere",  # unknown connection
        "+14155550199,live,,,",  # another workspace's
        "+14155550150,live,Front desk,sales,Main account",  # fine
        "+14155550150,live,,,",  # a duplicate of the row before
    ])  # fmt: skip
    before = AuditEvent.objects.count()

    job = preview_job(upload(desk, text, connection=desk["connection"].pk))

    said = {row: message for row, message in job.items.values_list("row", "message")}
    assert "not a valid number" in said[2]
    assert "Start with +" in said[3]
    assert "not in the Sandbox account “Main account”" in said[4]
    assert "Unknown agent “Nobody”" in said[5]
    assert "Unknown tag nope" in said[6]
    assert "Unknown environment “moon”" in said[7]
    assert "Unknown connection “Elsewhere”" in said[8]
    assert "in another workspace" in said[9]
    assert said[10] == ""
    assert "also in row 10" in said[11]
    assert (job.total, job.params["invalid"]) == (1, 9)
    assert AuditEvent.objects.count() == before
    assert not PhoneNumber.objects.filter(e164="+14155550150").exists()
    page = desk["client"].get(f"/w/acme/numbers/jobs/{job.pk}/?show=invalid").content.decode()
    assert "9 rows have errors and are left out" in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "The submitted file is empty"),
        ("phone\n+14155550110\n", "must name the columns"),
        ("number\n", "has no numbers"),
        ("\x00\x01binary", "not a CSV file"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_in_the_form(desk, content, message):
    response = upload(desk, content)

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not BulkJob.objects.exists()


def test_an_oversized_file_is_refused_before_it_is_read(desk):
    big = "number\n" + "+14155550110\n" * 500_000  # 6.5 MB

    response = upload(desk, big)

    assert response.status_code == 422
    assert "larger than 5 MB" in response.content.decode()
    assert not BulkJob.objects.exists()


def test_viewers_may_export_but_not_import(desk):
    client = Client()
    client.force_login(user("vic_viewer"))

    assert export(client).count("\n") == 4
    assert client.post(IMPORT, {}).status_code == 403
