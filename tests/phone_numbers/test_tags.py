"""Tags: one form for every name, whoever writes it; pickers offer the tags in use."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from campaigns.models import Campaign
from phone_numbers.models import PhoneNumber, Tag
from phone_numbers.tags import clean_tag_names
from providers.models import ProviderConnection
from tenants.models import Environment
from tenants.scope import all_workspaces, workspace_scope
from tests.helpers import owner_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "saved"),
    [
        (["  Sales US "], ["sales-us"]),
        (["TEXAS", "texas", "Texas "], ["texas"]),
        (["after_hours", "vip2"], ["after_hours", "vip2"]),
        (["ｓａｌｅｓ"], ["sales"]),  # full-width letters, as some keyboards type them
        (["", "  "], []),
    ],
)
def test_typed_tags_are_trimmed_lower_cased_and_hyphenated(typed, saved):
    assert clean_tag_names(typed) == saved


def test_every_bad_tag_is_named_in_one_message():
    with pytest.raises(ValidationError) as refused:
        clean_tag_names(["ok", "Ünïcode", "sales!", "x" * 40])
    said = " ".join(refused.value.messages)
    assert "“ünïcode” can't have ü ï in it" in said and "“sales!” can't have ! in it" in said
    assert "at most 32 characters" in said and "“ok”" not in said


def test_the_database_refuses_a_name_that_skipped_the_rules(acme):
    with workspace_scope(acme), pytest.raises(IntegrityError), transaction.atomic():
        Tag.objects.create(name="Sales US")


def test_the_admin_saves_the_normalised_name_or_says_why_not(acme, client):
    admin = get_user_model().objects.create_superuser("root", password="root-password-123")
    client.force_login(admin)
    url = "/admin/phone_numbers/tag/add/"
    saved = client.post(url, {"workspace": acme.pk, "name": "  Night Shift "})
    assert saved.status_code == 302
    refused = client.post(url, {"workspace": acme.pk, "name": "night/shift"})
    assert "“night/shift” can&#x27;t have / in it" in refused.content.decode()
    with all_workspaces():
        assert list(Tag.objects.values_list("name", flat=True)) == ["night-shift"]


def _number(e164, *, state="active", tags=()):
    number = PhoneNumber.objects.create(
        e164=e164,
        environment=Environment.objects.get(kind="live"),
        connection=ProviderConnection.objects.get_or_create(
            label="Sandbox", defaults={"provider": "sandbox", "credentials": {"account": "tags"}}
        )[0],
        state=state,
    )
    number.tags.set(Tag.objects.get_or_create(name=t)[0] for t in tags)
    return number


def test_pickers_offer_only_tags_a_held_number_or_a_campaign_uses(acme, globex):
    with workspace_scope(acme):
        _number("+14155550100", tags=["sales"])
        _number("+14155550101", state="released", tags=["retired"])
        _number("+14155550102", state="detached", tags=["gone"])
        Tag.objects.create(name="never-used")
        campaign = Campaign.objects.create(name="Renewals", environment=Environment.objects.get(kind="live"))
        campaign.tags.set([Tag.objects.get(name="gone")])
        number = _number("+14155550103", tags=["sales"])
    with workspace_scope(globex):
        _number("+14155550200", tags=["globex-only"])
    client = Client()
    client.force_login(owner_of(acme))
    offered = {"sales", "gone"}
    hidden = {"retired", "never-used", "globex-only"}
    for url in ("/w/acme/numbers/new/", "/w/acme/numbers/link/", f"/w/acme/numbers/{number.id}/edit/"):
        page = client.get(url).content.decode()
        datalist = page[page.index('<datalist id="tag-options">') : page.index("</datalist>")]
        assert all(f'"{t}"' in datalist for t in offered) and not any(t in datalist for t in hidden), url
    numbers = client.get("/w/acme/numbers/").content.decode()
    select = numbers[numbers.index('id="tag-add"') : numbers.index("</select>")]
    assert all(f">{t}<" in select for t in offered) and not any(t in select for t in hidden)
    campaign_form = client.get("/w/acme/campaigns/new/").content.decode()
    assert all(f" {t} <span" in campaign_form for t in offered)  # each tag with the numbers it brings
    assert not any(t in campaign_form for t in hidden)


@pytest.mark.django_db(transaction=True)
def test_the_migration_normalises_old_names_and_merges_the_ones_that_collide(acme):
    """Tags typed before the rules: renamed, and the ones that became one name merged into the oldest,
    keeping every number's and campaign's link (and the numbers' tag_ids arrays the filter reads)."""
    with workspace_scope(acme):
        first, second, third = (_number(f"+1415555010{i}") for i in range(3))
        campaign = Campaign.objects.create(name="Renewals", environment=Environment.objects.get(kind="live"))
    executor = MigrationExecutor(connection)
    executor.migrate([("phone_numbers", "0006_tag_ids"), ("campaigns", "0001_initial")])
    with connection.cursor() as cursor:
        ids = {}
        for name in ("Sales US", "sales-us", "SALES  us", "Café", "<b>", "ok"):
            cursor.execute(
                "INSERT INTO phone_numbers_tag (workspace_id, name, created_at) VALUES (%s, %s, now()) RETURNING id",
                [acme.pk, name],
            )
            ids[name] = cursor.fetchone()[0]
        links = [(first, "Sales US"), (second, "sales-us"), (second, "SALES  us"), (third, "Café")]
        for number, name in links:
            cursor.execute(
                "INSERT INTO phone_numbers_phonenumber_tags (phonenumber_id, tag_id) VALUES (%s, %s)",
                [number.pk, ids[name]],
            )
        cursor.execute(
            "INSERT INTO campaigns_campaign_tags (campaign_id, tag_id) VALUES (%s, %s)",
            [campaign.pk, ids["SALES  us"]],
        )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    with workspace_scope(acme):
        names = dict(Tag.objects.values_list("pk", "name"))
        assert sorted(names.values()) == ["b", "cafe", "ok", "sales-us"]
        sales = Tag.objects.get(name="sales-us")
        assert sales.pk == ids["Sales US"]  # the oldest stays
        assert set(sales.numbers.values_list("e164", flat=True)) == {first.e164, second.e164}
        assert list(Campaign.objects.get().tags.all()) == [sales]
    with connection.cursor() as cursor:
        cursor.execute("SELECT e164, tag_ids FROM phone_numbers_phonenumber")
        tag_ids = dict(cursor.fetchall())
    assert tag_ids[first.e164] == [sales.pk] and tag_ids[second.e164] == [sales.pk]
    assert tag_ids[third.e164] == [ids["Café"]]
