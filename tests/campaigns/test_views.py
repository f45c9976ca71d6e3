"""Campaign pages: create with a CSV (and its row report), the live page, and its controls."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from campaigns.models import Campaign
from tenants.models import Environment
from tenants.scope import workspace_scope
from tests.campaigns.conftest import DESTINATIONS
from tests.helpers import user

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(username):
    client = Client()
    client.force_login(user(username))
    return client


def test_operator_creates_a_campaign_from_a_csv(make_desk):
    desk = make_desk(2)
    with workspace_scope(desk.ws):
        from phone_numbers.models import Tag

        tag = Tag.objects.get(name="outbound")
    csv = SimpleUploadedFile("list.csv", b"phone\n+12125550100\n+12125550101\n+12125550100\n", "text/csv")
    response = client_for("olga_operator").post(
        reverse("campaigns:new", args=[desk.ws.slug]),
        {
            "name": "Renewals",
            "environment": desk.live.pk,
            "agent": desk.agent.pk,
            "tags": [tag.pk],
            "destinations": csv,
        },
    )
    assert response.status_code == 302
    campaign = Campaign.unscoped.get(name="Renewals")
    assert campaign.destinations == 2 and campaign.duplicates_skipped == 1


def test_invalid_rows_are_listed_and_nothing_is_saved(make_desk):
    desk = make_desk(1)
    with workspace_scope(desk.ws):
        from phone_numbers.models import Tag

        tag = Tag.objects.get(name="outbound")
    csv = SimpleUploadedFile("list.csv", b"phone\n+12125550100\nnot-a-number\n", "text/csv")
    response = client_for("olga_operator").post(
        reverse("campaigns:new", args=[desk.ws.slug]),
        {
            "name": "Bad",
            "environment": desk.live.pk,
            "agent": desk.agent.pk,
            "tags": [tag.pk],
            "destinations": csv,
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert "Row 3" in response.content.decode()
    assert not Campaign.unscoped.filter(name="Bad").exists()


def test_the_campaign_page_shows_progress_and_caller_ids_and_controls_work(make_desk):
    desk = make_desk(2)
    desk.policy(gap=600)
    campaign = desk.campaign(DESTINATIONS[:3])
    operator = client_for("olga_operator")
    detail = reverse("campaigns:detail", args=[desk.ws.slug, campaign.pk])
    assert "Start" in operator.get(detail).content.decode()
    operator.post(reverse("campaigns:start", args=[desk.ws.slug, campaign.pk]))
    from campaigns.dispatch import campaigns_dispatch

    campaigns_dispatch(batches=1)
    live = operator.get(detail, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in live and "paced until" in live and "<progress" in live
    assert "All 2 numbers held by their limits: the next call can leave at" in live
    assert "gap between calls, frees" in live  # which limit holds each number
    viewer = client_for("vic_viewer")
    assert viewer.post(reverse("campaigns:pause", args=[desk.ws.slug, campaign.pk])).status_code == 403
    operator.post(reverse("campaigns:pause", args=[desk.ws.slug, campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED


def test_the_caller_ids_say_so_while_the_pacing_state_is_rebuilt_or_redis_is_down(make_desk, settings):
    from campaigns.dispatch import campaigns_dispatch
    from pacing.services import pacer_redis

    desk = make_desk(2)
    desk.policy(gap=600)
    campaign = desk.campaign(DESTINATIONS[:3])
    operator = client_for("olga_operator")
    operator.post(reverse("campaigns:start", args=[desk.ws.slug, campaign.pk]))
    campaigns_dispatch(batches=1)
    detail = reverse("campaigns:detail", args=[desk.ws.slug, campaign.pk])
    assert "paced until" in operator.get(detail).content.decode()
    pacer_redis().flushdb()  # a Redis restart without persistence: the logs are gone
    page = operator.get(detail).content.decode()
    assert "Pacing state is being rebuilt from the database" in page and "paced until" not in page
    campaigns_dispatch(batches=1)  # the dispatcher rebuilds from the recorded attempts
    page = operator.get(detail).content.decode()
    assert (
        "being rebuilt" not in page
        and "All 2 numbers held by their limits: the next call can leave at" in page
    )
    settings.PACER_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there (the pacer is per URL)
    assert "Redis did not answer" in operator.get(detail).content.decode()
    settings.PACER_REDIS_URL = "redis+cluster://127.0.0.1:1"  # nor is a Redis Cluster there
    assert "Redis did not answer" in operator.get(detail).content.decode()


def test_the_live_poll_reloads_the_page_when_the_state_changed(acme):
    from django.test import Client

    from campaigns.models import Campaign
    from tenants.models import Environment
    from tenants.scope import workspace_scope
    from tests.helpers import owner_of

    with workspace_scope(acme):
        campaign = Campaign.objects.create(
            name="C", environment=Environment.objects.get(kind="live"), state="finished"
        )
    client = Client()
    client.force_login(owner_of(acme))
    url = f"/w/acme/campaigns/{campaign.id}/"
    stale = client.get(url, {"seen": "running"}, headers={"HX-Request": "true"})
    assert stale.headers.get("HX-Refresh") == "true"
    fresh = client.get(url, {"seen": "finished"}, headers={"HX-Request": "true"})
    assert "HX-Refresh" not in fresh.headers and fresh.status_code == 200


def _tag_id(ws, name):
    from phone_numbers.models import Tag

    with workspace_scope(ws):
        return Tag.objects.get(name=name).pk


def test_the_new_campaign_form_counts_the_caller_ids_each_tag_brings(make_desk):
    desk = make_desk(2)
    desk.buy("+14155550190", tags=["outbound", "spare"])
    with workspace_scope(desk.ws):
        from tenants.models import Environment

        sandbox = Environment.objects.get(kind="sandbox")
    outbound, spare = _tag_id(desk.ws, "outbound"), _tag_id(desk.ws, "spare")
    operator = client_for("olga_operator")
    url = reverse("campaigns:new", args=[desk.ws.slug])
    page = operator.get(url).content.decode()  # Live first, nothing chosen yet
    assert f'outbound <span class="muted small" id="tag-count-{outbound}">3 numbers</span>' in page
    assert f'spare <span class="muted small" id="tag-count-{spare}">1 number</span>' in page
    fragment = operator.get(
        url,
        {"environment": desk.live.pk, "tags": [outbound, spare]},
        headers={"HX-Request": "true", "HX-Target": "caller-ids"},
    ).content.decode()
    # Only the counts, swapped in place: the checkboxes a person is clicking stay as they are.
    assert "<fieldset" not in fragment and 'type="checkbox"' not in fragment
    assert f'id="tag-count-{spare}" hx-swap-oob="innerHTML">1 number</span>' in fragment
    assert "3 numbers in Live will call out" in fragment
    elsewhere = operator.get(
        url,
        {"environment": sandbox.pk, "tags": [spare]},
        headers={"HX-Request": "true", "HX-Target": "caller-ids"},
    ).content.decode()
    assert f'id="tag-count-{spare}" hx-swap-oob="innerHTML">0 numbers</span>' in elsewhere
    assert "No active number in Sandbox carries the chosen tags" in elsewhere


def test_a_campaign_whose_tags_bring_no_caller_id_is_refused_at_creation(make_desk):
    desk = make_desk(1)
    desk.buy("+14155550190", tags=["spare"])
    with workspace_scope(desk.ws):
        from phone_numbers.models import PhoneNumber

        # The tag is in use (offered), but by a number in another environment than the campaign's.
        PhoneNumber.objects.filter(e164="+14155550190").update(
            environment=Environment.objects.get(kind="sandbox")
        )
    csv = SimpleUploadedFile("list.csv", b"phone\n+12125550100\n", "text/csv")
    response = client_for("olga_operator").post(
        reverse("campaigns:new", args=[desk.ws.slug]),
        {"name": "Nobody", "environment": desk.live.pk, "agent": desk.agent.pk,
         "tags": [_tag_id(desk.ws, "spare")], "destinations": csv},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert response.status_code == 422
    page = response.content.decode()
    assert (
        "No active number in Live carries the tag spare, so there is no caller ID to call from. "
        "Tag numbers on the Numbers page first." in page
    )
    assert 'id="caller-ids-error"' in page
    assert not Campaign.unscoped.filter(name="Nobody").exists()


@pytest.mark.parametrize("checked", [True, False], ids=["on", "off"])
def test_local_presence_is_chosen_on_the_form_and_audited(make_desk, checked):
    from tenants.models import AuditEvent

    desk = make_desk(1)
    with workspace_scope(desk.ws):
        from phone_numbers.models import Tag

        tag = Tag.objects.get(name="outbound")
    client = client_for("olga_operator")
    form = client.get(reverse("campaigns:new", args=[desk.ws.slug])).content.decode()
    assert 'name="local_presence"' in form and 'for="id_local_presence"' in form
    csv = SimpleUploadedFile("list.csv", b"phone\n+12125550100\n", "text/csv")
    data = {"name": "Local", "environment": desk.live.pk, "agent": desk.agent.pk, "tags": [tag.pk]}
    response = client.post(
        reverse("campaigns:new", args=[desk.ws.slug]),
        {**data, "destinations": csv, **({"local_presence": "on"} if checked else {})},
    )
    assert response.status_code == 302
    campaign = Campaign.unscoped.get(name="Local")
    assert campaign.local_presence is checked
    created = AuditEvent.unscoped.get(action="campaign.created", target_id=str(campaign.pk))
    assert created.details["local_presence"] == ("on" if checked else "off")
    page = client.get(reverse("campaigns:detail", args=[desk.ws.slug, campaign.pk])).content.decode()
    assert ('data-testid="local-presence"' in page) is checked
