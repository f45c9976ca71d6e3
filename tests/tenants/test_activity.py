"""The Activity page and a number's history read as words: labels, joined lists, links to the targets."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from phone_numbers.models import PhoneNumber
from providers.models import ProviderConnection
from tenants.audit import audit
from tenants.models import Environment
from tenants.scope import workspace_scope
from tests.helpers import owner_of

pytestmark = pytest.mark.django_db


def client_for(username):
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


@pytest.fixture
def number(acme):
    with workspace_scope(acme):
        connection = ProviderConnection.objects.create(
            provider="sandbox", label="S", credentials={"account": "a"}
        )
        number = PhoneNumber.objects.create(
            e164="+14155550100", environment=Environment.objects.get(kind="live"), connection=connection,
            state="active",
        )  # fmt: skip
        audit(
            actor=owner_of(acme), action="number.buy_started", target=number,
            tags=["sales-us", "texas"], environment="pre_release", managed=False, error=None,
            routing={"voice_url": "https://old.example/voice", "voice_method": "POST"},
        )  # fmt: skip
        audit(actor=None, action="workspace.created", target=acme)
    return number


def test_events_read_as_words_and_link_to_their_number(acme, number):
    page = client_for(owner_of(acme).username).get(reverse("activity", args=[acme.slug])).content.decode()
    assert '<span title="number.buy_started">Number buy started</span>' in page
    assert '<span class="muted">Tags</span> sales-us, texas' in page
    assert '<span class="muted">Environment</span> Pre-release' in page
    assert '<span class="muted">Managed</span> no' in page
    assert '<span class="muted">Error</span>' not in page  # nothing recorded, nothing shown
    assert "voice url: https://old.example/voice, voice method: POST" in page
    assert "[&#x27;" not in page and "{&#x27;" not in page  # no Python reprs
    assert f'<a href="/w/acme/numbers/{number.pk}/">+1 415-555-0100</a>' in page
    assert '<option value="number.buy_started" >Number buy started</option>' in page
    assert "Workspace created" in page


def test_a_numbers_history_page_offers_what_the_role_may_do(acme, number):
    url = reverse("numbers:detail", args=[acme.slug, number.pk])
    admin = client_for("alice_admin").get(url).content.decode()
    assert "Number buy started" in admin and "sales-us, texas" in admin
    for action in ("edit", "detach", "delete"):
        assert f'href="/w/acme/numbers/{number.pk}/{action}/"' in admin, action
    operator = client_for("olga_operator").get(url).content.decode()
    assert f"/{number.pk}/detach/" in operator and f"/{number.pk}/delete/" not in operator
    viewer = client_for("vic_viewer").get(url).content.decode()
    assert f"/{number.pk}/edit/" not in viewer and f"/{number.pk}/detach/" not in viewer
    PhoneNumber.unscoped.filter(pk=number.pk).update(state="detached")
    detached = client_for("olga_operator").get(url).content.decode()
    assert f"/{number.pk}/edit/" not in detached
    again = "/w/acme/numbers/link/?e164=%2B1+415-555-0100&amp;environment="
    assert again in detached and ">Link again</a>" in detached
    assert "Link again" not in client_for("vic_viewer").get(url).content.decode()
