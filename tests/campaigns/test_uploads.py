"""Destination uploads: a too-big file is refused as it streams in; a long list is read by a worker, with
its progress on the campaign page; a list that fails to read leaves a campaign that says so and can't start."""

import io

import pytest
from django.test import Client
from django.urls import reverse

from campaigns.destinations import BACKGROUND_BYTES, MAX_BYTES
from campaigns.models import Campaign, CampaignCall, DestinationUpload
from config.celery import app
from phone_numbers.models import Tag
from tenants.scope import workspace_scope
from tests.helpers import user, wait_until, worker_in_process

pytestmark = pytest.mark.django_db(transaction=True)

BOUNDARY = "odd-boundary"


def operator() -> Client:
    client = Client(raise_request_exception=True)
    client.force_login(user("olga_operator"))
    return client


def form_fields(desk) -> dict:
    with workspace_scope(desk.ws):
        tag = Tag.objects.get(name="outbound")
    return {"name": "Renewals", "environment": desk.live.pk, "agent": desk.agent.pk, "tags": tag.pk}


def long_list(rows: int, *, last: str = "") -> bytes:
    lines = ["phone", *(f"+1212555{n % 10_000:04d}" for n in range(rows)), *([last] if last else [])]
    return ("\n".join(lines) + "\n").encode()


class CountingStream(io.RawIOBase):
    """A request body produced as it is read, counting what the server read of it."""

    def __init__(self, head: bytes, size: int):
        self.head, self.size, self.read_bytes = head, size, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.size - self.read_bytes)
        start = self.read_bytes
        chunk = (self.head[start : start + n] + b"1" * n)[:n]
        buffer[:n] = chunk
        self.read_bytes += n
        return n


def test_a_too_big_upload_is_refused_without_reading_it_all(make_desk):
    desk = make_desk(1)
    fields = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in form_fields(desk).items()
    )
    head = (
        f'{fields}--{BOUNDARY}\r\nContent-Disposition: form-data; name="destinations"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nphone\r\n+12125550100\r\n"
    ).encode()
    size = 40 * 1024 * 1024  # the body never ends before 40 MB
    body = CountingStream(head, size)
    response = operator().request(
        REQUEST_METHOD="POST",
        PATH_INFO=reverse("campaigns:new", args=[desk.ws.slug]),
        CONTENT_TYPE=f"multipart/form-data; boundary={BOUNDARY}",
        CONTENT_LENGTH=str(size),
        HTTP_HX_REQUEST="true",
        **{"wsgi.input": body},
    )
    assert response.status_code == 422
    assert "The file is larger than 5 MB; split the list." in response.content.decode()
    assert body.read_bytes < MAX_BYTES + 1024 * 1024, body.read_bytes  # stopped at the limit, not at 40 MB
    assert 'value="Renewals"' in response.content.decode()  # what was typed before the file is kept
    assert not Campaign.unscoped.exists()


def test_a_long_list_is_read_by_a_worker_with_its_progress_on_the_page(make_desk):
    desk = make_desk(1)
    data = long_list(6_000)
    assert len(data) > BACKGROUND_BYTES
    client = operator()
    response = client.post(
        reverse("campaigns:new", args=[desk.ws.slug]),
        form_fields(desk) | {"destinations": io.BytesIO(data)},
    )
    assert response.status_code == 302
    campaign = Campaign.unscoped.get(name="Renewals")
    # No worker runs yet: the campaign exists, its list waits in the database, the page says so.
    assert campaign.destinations == 0 and not CampaignCall.unscoped.filter(campaign=campaign).exists()
    detail = reverse("campaigns:detail", args=[desk.ws.slug, campaign.pk])
    progress_url = reverse("campaigns:upload", args=[desk.ws.slug, campaign.pk])
    page = client.get(detail).content.decode()
    assert "Reading the destination list: 0 of about 6,001 rows." in page
    assert f'hx-get="{progress_url}"' in page
    fragment = client.get(progress_url, headers={"HX-Request": "true"})
    assert "0 of about 6,001 rows" in fragment.content.decode()
    refused = client.post(reverse("campaigns:start", args=[desk.ws.slug, campaign.pk]), follow=True)
    assert "still being read" in refused.content.decode()

    with worker_in_process(app, pool="threads", concurrency=1, loglevel="WARNING"):
        wait_until(
            lambda: not DestinationUpload.unscoped.exists(), timeout=60, message="the list was not read"
        )
    campaign.refresh_from_db()
    assert campaign.destinations == 6_000 and campaign.duplicates_skipped == 0
    assert CampaignCall.unscoped.filter(campaign=campaign, state="pending").count() == 6_000
    # The poll finds the list read and reloads the page, which now shows the campaign as created.
    assert client.get(progress_url, headers={"HX-Request": "true"}).headers["HX-Refresh"] == "true"
    assert "Reading the destination list" not in client.get(detail).content.decode()


def test_a_long_list_that_fails_to_read_says_why_and_the_campaign_cannot_start(make_desk):
    desk = make_desk(1)
    client = operator()
    client.post(
        reverse("campaigns:new", args=[desk.ws.slug]),
        form_fields(desk) | {"destinations": io.BytesIO(long_list(6_000, last="+1 not a number"))},
    )
    campaign = Campaign.unscoped.get(name="Renewals")
    with worker_in_process(app, pool="threads", concurrency=1, loglevel="WARNING"):
        wait_until(
            lambda: DestinationUpload.unscoped.filter(state="failed").exists(),
            timeout=60,
            message="the bad list was not reported",
        )
    upload = DestinationUpload.unscoped.get()
    assert upload.rows_read > 0  # progress was written as it read
    assert not CampaignCall.unscoped.filter(campaign=campaign).exists()  # nothing half-written
    page = client.get(reverse("campaigns:detail", args=[desk.ws.slug, campaign.pk])).content.decode()
    assert "The destination list could not be read" in page and "Row 6002" in page
    refused = client.post(reverse("campaigns:start", args=[desk.ws.slug, campaign.pk]), follow=True)
    assert "could not be read" in refused.content.decode()
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT


def test_a_campaign_cancelled_while_its_list_is_read_gets_no_calls(make_desk):
    from campaigns.control import campaign_cancel, campaign_destinations_load

    desk = make_desk(1)
    operator().post(
        reverse("campaigns:new", args=[desk.ws.slug]),
        form_fields(desk) | {"destinations": io.BytesIO(long_list(6_000))},
    )
    campaign = Campaign.unscoped.get(name="Renewals")
    campaign_cancel(campaign=campaign, actor=user("olga_operator"))
    campaign_destinations_load(upload_id=DestinationUpload.unscoped.get().pk)
    assert not DestinationUpload.unscoped.exists()
    assert not CampaignCall.unscoped.filter(campaign=campaign).exists()
