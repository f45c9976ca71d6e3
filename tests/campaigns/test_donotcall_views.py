"""The Do not call page: add one or paste many (national formats of the workspace's countries), CSV import
with its preview, streamed export, remove with a confirmation, search by digits, pages; and the campaign
pages' suppressed calls."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from campaigns.control import campaign_start
from campaigns.donotcall.services import dnc_add
from campaigns.models import DoNotCall
from tenants.models import AuditEvent
from tenants.scope import workspace_scope
from tests.campaigns.conftest import DESTINATIONS
from tests.helpers import user

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(username):
    client = Client()
    client.force_login(user(username))
    return client


def url(desk, name, *args):
    return reverse(f"dnc:{name}", args=[desk.ws.slug, *args])


def listed(desk) -> list[str]:
    return sorted(DoNotCall.unscoped.filter(workspace=desk.ws).values_list("e164", flat=True))


def test_an_operator_adds_one_number_and_it_is_audited(make_desk):
    desk = make_desk(1)
    response = client_for("olga_operator").post(
        url(desk, "add"), {"numbers": "+1 212 555 0100", "note": "asked"}
    )
    assert response.status_code == 302
    assert listed(desk) == ["+12125550100"]
    entry = DoNotCall.unscoped.get(workspace=desk.ws)
    assert (entry.source, entry.note, entry.added_by, entry.added_by_label) == (
        "manual", "asked", user("olga_operator"), "olga_operator",
    )  # fmt: skip
    event = AuditEvent.unscoped.get(workspace=desk.ws, action="do_not_call.added")
    assert event.details["numbers"] == ["+12125550100"] and event.actor == user("olga_operator")


def test_pasted_numbers_are_read_in_the_workspaces_countries_one_a_line_or_comma_separated(make_desk):
    desk = make_desk(1)  # holds +1 415 numbers: national formats are read as US ones
    pasted = "(212) 555-0100, 212.555.0101\n+44 20 7946 0958\n\n00 1 212 555 0102; 212 555 0100"
    response = client_for("olga_operator").post(url(desk, "add"), {"numbers": pasted})
    assert response.status_code == 302
    assert listed(desk) == ["+12125550100", "+12125550101", "+12125550102", "+442079460958"]


def test_invalid_pasted_lines_are_listed_and_nothing_is_added(make_desk):
    desk = make_desk(1)
    pasted = "+12125550100\nhello\n020 7946 0958, 12"
    response = client_for("olga_operator").post(url(desk, "add"), {"numbers": pasted})
    assert response.status_code == 422
    page = response.content.decode()
    assert "3 entries are not a phone number" in page and "nothing was added" in page
    assert "Line 2: “hello” is not a phone number" in page
    assert (
        "Line 3: “020 7946 0958” is not a valid number in US" in page
    )  # a UK number, in a US-only workspace
    assert listed(desk) == []


def test_adding_a_listed_number_again_changes_nothing(make_desk):
    desk = make_desk(1)
    client = client_for("olga_operator")
    client.post(url(desk, "add"), {"numbers": "+12125550100"})
    response = client.post(url(desk, "add"), {"numbers": "+12125550100"}, follow=True)
    assert "+1 212-555-0100 was already on it." in response.content.decode()
    assert listed(desk) == ["+12125550100"]
    assert AuditEvent.unscoped.filter(workspace=desk.ws, action="do_not_call.added").count() == 1


def test_a_csv_import_is_previewed_then_written(make_desk):
    desk = make_desk(1)
    with workspace_scope(desk.ws):
        dnc_add(workspace=desk.ws, actor=None, numbers=["+12125550100"], source="manual")
    client = client_for("olga_operator")
    data = b"name,phone\nAnn,+12125550100\nBob,(212) 555-0101\nCy,+12125550102\nBob,212 555 0101\n"
    preview = client.post(
        url(desk, "import"), {"file": SimpleUploadedFile("l.csv", data, "text/csv"), "note": "Q4"}
    )
    page = preview.content.decode()
    assert (
        preview.status_code == 200
        and "2 numbers will be added." in page
        and "1 is already on the list" in page
    )
    assert listed(desk) == ["+12125550100"]  # nothing written by the preview
    key = page.split('name="preview" value="')[1].split('"')[0]
    assert client.post(url(desk, "import"), {"preview": key, "note": "Q4"}).status_code == 302
    assert listed(desk) == ["+12125550100", "+12125550101", "+12125550102"]
    assert set(DoNotCall.unscoped.filter(source="csv").values_list("note", flat=True)) == {"Q4"}
    again = client.post(url(desk, "import"), {"preview": key, "note": "Q4"})  # the preview is used up
    assert again.status_code == 422 and "expired" in again.content.decode()


def test_a_csv_with_bad_rows_lists_them_and_writes_nothing(make_desk):
    desk = make_desk(1)
    data = b"phone\n+12125550100\nnope\n+1 999\n"
    response = client_for("olga_operator").post(
        url(desk, "import"), {"file": SimpleUploadedFile("l.csv", data, "text/csv")}
    )
    page = response.content.decode()
    assert response.status_code == 422 and "2 rows are not a phone number" in page
    assert "Row 3: “nope” is not a phone number" in page and "Row 4:" in page
    assert listed(desk) == []


def test_the_export_streams_every_entry_as_csv(make_desk):
    desk = make_desk(1)
    with workspace_scope(desk.ws):
        dnc_add(workspace=desk.ws, actor=desk.actor, numbers=DESTINATIONS[:3], source="manual", note="=cmd")
    response = client_for("vic_viewer").get(url(desk, "export"))
    assert response.status_code == 200 and response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["phone", "added_at", "added_by", "source", "note"]
    assert sorted(r[0] for r in rows[1:]) == DESTINATIONS[:3]
    assert {r[4] for r in rows[1:]} == {"'=cmd"}  # spreadsheet-safe


def test_removing_asks_first_then_removes_and_audits(make_desk):
    desk = make_desk(1)
    with workspace_scope(desk.ws):
        dnc_add(workspace=desk.ws, actor=None, numbers=["+12125550100"], source="manual")
        entry = DoNotCall.objects.get()
    client = client_for("olga_operator")
    confirm = client.get(url(desk, "remove", entry.pk))
    assert 'Remove <span class="number">+1 212-555-0100</span> from the list?' in confirm.content.decode()
    assert listed(desk) == ["+12125550100"]
    assert client.post(url(desk, "remove", entry.pk)).status_code == 302
    assert listed(desk) == []
    assert (
        AuditEvent.unscoped.get(workspace=desk.ws, action="do_not_call.removed").details["e164"]
        == "+12125550100"
    )


def test_the_list_is_searched_by_digits_and_paged(make_desk):
    desk = make_desk(1)
    numbers = [f"+1212555{n:04d}" for n in range(100, 160)] + ["+13125550100"]
    with workspace_scope(desk.ws):
        dnc_add(workspace=desk.ws, actor=None, numbers=numbers, source="manual")
    client = client_for("vic_viewer")
    page = client.get(url(desk, "list")).content.decode()
    assert "1–50 of 61" in page and 'rel="next"' in page
    assert "61 number" not in page
    found = client.get(url(desk, "list"), {"q": "(312) 555"}).content.decode()
    assert "+1 312-555-0100" in found and "+1 212-555-0100" not in found
    assert "letters aren" in client.get(url(desk, "list"), {"q": "abc"}).content.decode()
    second = client.get(url(desk, "list"), {"page": 2}).content.decode()
    assert "51–61 of 61" in second


def test_the_campaign_page_counts_and_explains_suppressed_calls(make_desk):
    desk = make_desk(1)
    with workspace_scope(desk.ws):
        dnc_add(workspace=desk.ws, actor=desk.actor, numbers=DESTINATIONS[:2], source="manual")
    campaign = desk.campaign(DESTINATIONS[:3])
    client = client_for("vic_viewer")
    detail = reverse("campaigns:detail", args=[desk.ws.slug, campaign.pk])
    assert "2 waiting destinations are on the" in client.get(detail).content.decode()  # a draft: told ahead
    campaign_start(campaign=campaign, actor=desk.actor)
    from campaigns.dispatch import campaign_dispatch

    campaign_dispatch(campaign_id=campaign.pk, batches=1)
    page = client.get(detail).content.decode()
    assert 'data-testid="suppressed">2</strong> suppressed' in page
    assert "On the do-not-call list since" in page
    assert 'id="calls-suppressed"' in page
    csv_text = b"".join(
        client.get(
            reverse("campaigns:calls_csv", args=[desk.ws.slug, campaign.pk]), {"state": "suppressed"}
        ).streaming_content
    ).decode()
    assert csv_text.count("Suppressed") == 2 and "On the do-not-call list since" in csv_text


def test_the_stop_token_is_shown_once_to_an_admin(make_desk):
    desk = make_desk(1)
    client = client_for("alice_admin")
    made = client.post(url(desk, "token")).content.decode()
    token = made.split('id="stop-token">')[1].split("<")[0]
    assert token.startswith("dnc_")
    page = client.get(url(desk, "list")).content.decode()
    assert token not in page and f"{token[:8]}…" in page
