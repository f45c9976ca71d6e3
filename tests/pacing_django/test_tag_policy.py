"""A tag's own pacing and human cadence: set from the tag, refused in words, audited before -> after,
removed (its numbers follow the environment's again), and what holds each number (number_policies)."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from pacing.limits import Limits
from pacing.models import PacingPolicy, TagPolicy
from pacing.pacer import Policy
from pacing.selectors import combined, number_policies
from pacing.services import pacer_policy, policy_update, tag_policy_remove, tag_policy_update, widened
from phone_numbers.models import PhoneNumber, Tag
from tenants.models import AuditEvent, Environment
from tenants.scope import workspace_scope
from tests.helpers import sandbox_connection, user

pytestmark = pytest.mark.django_db

M, H = 60, 3600


@pytest.fixture
def live(acme):
    with workspace_scope(acme):
        return Environment.objects.get(kind="live")


@pytest.fixture
def tags(acme):
    with workspace_scope(acme):
        return {name: Tag.objects.create(name=name) for name in ("fresh", "outbound", "texas")}


def client_for(username):
    client = Client()
    client.force_login(user(username))
    return client


def tag_url(acme, live, name="fresh"):
    return reverse("pacing:tag", args=[acme.slug, live.pk, name])


def numbers(acme, environment, tags, tagged: dict[str, list[str]]):
    connection = sandbox_connection(acme)
    with workspace_scope(acme):
        for e164, names in tagged.items():
            number = PhoneNumber.objects.create(
                e164=e164, environment=environment, connection=connection, state="active"
            )
            number.tags.add(*(tags[n] for n in names))


def test_a_tags_policy_stands_in_for_the_environments_and_several_keep_every_limit(acme, live, tags):
    numbers(acme, live, tags, {
        "+14155550001": [], "+14155550002": ["outbound"], "+14155550003": ["fresh", "outbound"],
        "+14155550004": ["fresh", "texas"],
    })  # fmt: skip
    with workspace_scope(acme):
        policy_update(environment=live, actor=None, enabled=True, gap_seconds=30, daily_cap=200)
        fresh = Limits(60, ((3, 15 * M),), 40, 20, (10, 20))
        texas = Limits(0, ((2, 10 * M), (10, 2 * H)), 30)
        tag_policy_update(environment=live, tag=tags["fresh"], actor=None, limits=fresh)
        tag_policy_update(environment=live, tag=tags["texas"], actor=None, limits=texas)
        held = number_policies(live, ["+14155550001", "+14155550002", "+14155550003", "+14155550004"])
        environment = pacer_policy(PacingPolicy.objects.get(environment=live))
    slack = settings.CAMPAIGN_DIAL_DEADLINE_S
    assert held["+14155550001"] == held["+14155550002"] == environment  # no paced tag: the environment's
    assert held["+14155550003"] == widened(fresh) == combined([fresh])  # fresh alone, environment aside
    assert held["+14155550004"] == Policy(
        gap_s=60 + slack,
        windows=((2, 10 * M + slack), (3, 15 * M + slack), (10, 2 * H + slack)),
        daily_cap=30,
        jitter_s=20,
        ramp=(10, 20),
    )


def test_a_tag_paced_in_another_environment_or_workspace_paces_nothing_here(acme, globex, live, tags):
    numbers(acme, live, tags, {"+14155550001": ["fresh"]})
    with workspace_scope(acme):
        sandbox = Environment.objects.get(kind="sandbox")
        tag_policy_update(environment=sandbox, tag=tags["fresh"], actor=None, limits=Limits(60))
        assert number_policies(live, ["+14155550001"]) == {"+14155550001": Policy()}  # Live: pacing off
    with workspace_scope(globex):
        assert not TagPolicy.objects.exists()
        globex_live = Environment.objects.get(kind="live")
        assert number_policies(globex_live, ["+14155550001"]) == {"+14155550001": Policy()}


def test_set_changed_and_removed_each_audited_in_words(acme, live, tags):
    with workspace_scope(acme):
        policy_update(environment=live, actor=None, enabled=True, gap_seconds=2 * M)
        tag_policy_update(environment=live, tag=tags["fresh"], actor=None, limits=Limits(5 * M, (), 40))
        tag_policy_update(
            environment=live, tag=tags["fresh"], actor=None, limits=Limits(5 * M, (), 40)
        )  # same
        tag_policy_update(
            environment=live, tag=tags["fresh"], actor=None, limits=Limits(5 * M, (), 40, 30, (10, 20))
        )
        assert tag_policy_remove(environment=live, tag=tags["fresh"], actor=None)
        assert not tag_policy_remove(environment=live, tag=tags["fresh"], actor=None)
        events = list(AuditEvent.objects.filter(action__startswith="pacing.tag_policy").order_by("id"))
        assert not TagPolicy.objects.exists()
    assert [e.action for e in events] == [
        "pacing.tag_policy_updated", "pacing.tag_policy_updated", "pacing.tag_policy_removed"
    ]  # fmt: skip
    first, second, removed = (e.details for e in events)
    assert first["tag"] == "fresh"
    assert first["changed"]["follows"] == ["the environment's policy", "its own policy"]
    assert first["changed"]["gap_seconds"] == [120, 300]
    assert first["changed"]["daily_cap"] == ["no daily cap", "40 calls a day"]
    assert second["changed"]["jitter"] == ["no random wait", "up to 30 seconds of random extra wait"]
    assert second["changed"]["warm-up"] == [
        "no warm-up", "new numbers warm up over 2 days: 10, 20 calls, then 40 a day"
    ]  # fmt: skip
    assert removed["changed"]["follows"] == ["its own policy", "the environment's policy"]
    assert removed["changed"]["gap_seconds"] == [300, 120]


@pytest.mark.parametrize(
    ("limits", "part", "says"),
    [
        (Limits(), "enabled", "remove this tag's pacing so its numbers follow the environment's"),
        (Limits(60, ramp=(10, 20)), "ramp", "A warm-up rises to the daily cap"),
        (Limits(60, (), 30, ramp=(10, 40)), "ramp", "at most the daily cap (30 calls): 40 is more"),
        (Limits(60, (), 30, ramp=(20, 10)), "ramp", "day 2 allows fewer calls than day 1"),
        (Limits(60, (), 30, ramp=(0, 10)), "ramp", "at least 1 call"),
        (Limits(60, (), 300, ramp=tuple(range(1, 32))), "ramp", "at most 30 days"),
        (Limits(60, jitter_s=3601), "jitter", "at most 60 minutes"),
        (Limits(0, ((3, 15 * M), (2, H))), "window_1", "never binds under 2 per hour"),
    ],
)
def test_bad_tag_policies_are_refused_in_words_and_nothing_is_written(acme, live, tags, limits, part, says):
    with workspace_scope(acme), pytest.raises(ValidationError) as refused:
        tag_policy_update(environment=live, tag=tags["fresh"], actor=None, limits=limits)
    assert says in refused.value.message_dict[part][0]
    with workspace_scope(acme):
        assert not TagPolicy.objects.exists()
        assert not AuditEvent.objects.filter(action__startswith="pacing.").exists()


def test_the_environments_policy_takes_jitter_and_a_ramp_and_describes_them(acme, live):
    with workspace_scope(acme):
        policy = policy_update(
            environment=live, actor=None, enabled=True, gap_seconds=M, daily_cap=75, jitter_seconds=45,
            ramp=[10, 20, 40],
        )  # fmt: skip
        assert policy.describe() == (
            "Wait 1 minute between calls; 75 calls a day; up to 45 seconds of random extra wait; "
            "new numbers warm up over 3 days: 10, 20, 40 calls, then 75 a day"
        )
        assert (pacer_policy(policy).jitter_s, pacer_policy(policy).ramp) == (45, (10, 20, 40))
        with pytest.raises(ValidationError, match="warm-up rises to the daily cap"):
            policy_update(environment=live, actor=None, enabled=True, gap_seconds=M, ramp=[10])


def test_the_database_refuses_a_jitter_past_the_maximum_and_a_second_policy_for_a_tag(acme, live, tags):
    with workspace_scope(acme):
        TagPolicy.objects.create(environment=live, tag=tags["fresh"], gap_seconds=60)
        with pytest.raises(IntegrityError), transaction.atomic():
            TagPolicy.objects.create(environment=live, tag=tags["fresh"], gap_seconds=120)
        with pytest.raises(IntegrityError), transaction.atomic():
            TagPolicy.objects.create(environment=live, tag=tags["texas"], jitter_seconds=3601)


def test_the_modal_saves_a_tags_pacing_and_says_it(acme, live, tags):
    posted = {"gap_minutes": "2", "cap_1": "3", "every_1": "15", "unit_1": "minutes", "daily_cap": "40",
              "jitter_seconds": "30", "ramp": "10, 20"}  # fmt: skip
    response = client_for("olga_operator").post(tag_url(acme, live), posted)
    assert response.status_code == 302
    with workspace_scope(acme):
        policy = TagPolicy.objects.get(environment=live, tag=tags["fresh"])
    assert policy.limits == Limits(120, ((3, 15 * M),), 40, 30, (10, 20))
    page = client_for("vic_viewer").get(tag_url(acme, live)).content.decode()
    assert "Pacing for “fresh”" in page and "follow this tag's own pacing" in page
    assert "Wait 2 minutes between calls; 3 calls per 15 minutes; 40 calls a day" in page
    assert 'value="10, 20"' in page and "keep every one of their limits" in page


@pytest.mark.parametrize(
    ("posted", "field", "says"),
    [
        ({}, None, "remove this tag&#x27;s pacing"),
        ({"gap_minutes": "2", "ramp": "10, 20"}, "ramp", "warm-up rises to the daily cap"),
        ({"gap_minutes": "2", "daily_cap": "40", "ramp": "10, ten"}, "ramp", "“ten” is not a whole number"),
        ({"gap_minutes": "2", "daily_cap": "40", "ramp": "10, ٣"}, "ramp", "is not a whole number"),
        ({"gap_minutes": "2", "daily_cap": "40", "ramp": "10, 0"}, "ramp", "1 to 1,000 calls"),
        ({"gap_minutes": "2", "daily_cap": "40", "ramp": "30, 20"}, "ramp", "day 2 allows fewer"),
        ({"gap_minutes": "2", "jitter_seconds": "9999"}, "jitter_seconds", "at most 3,600 seconds"),
        ({"gap_minutes": "2", "jitter_seconds": "1.5"}, "jitter_seconds", "whole number of seconds"),
    ],
)
def test_the_modal_says_what_is_wrong_on_its_field(acme, live, tags, posted, field, says):
    response = client_for("olga_operator").post(tag_url(acme, live), posted)
    assert response.status_code == 422
    page = response.content.decode()
    assert says in page, page
    if field:
        assert f'id="id_{field}"' in page and "aria-invalid" in page
    with workspace_scope(acme):
        assert not TagPolicy.objects.exists()


def test_remove_returns_the_tags_numbers_to_the_environments_pacing(acme, live, tags):
    with workspace_scope(acme):
        tag_policy_update(environment=live, tag=tags["fresh"], actor=None, limits=Limits(60))
    page = client_for("olga_operator").get(tag_url(acme, live)).content.decode()
    assert "Remove this tag's pacing" in page
    response = client_for("olga_operator").post(tag_url(acme, live), {"remove": "1"})
    assert response.status_code == 302
    with workspace_scope(acme):
        assert not TagPolicy.objects.exists()
    page = client_for("olga_operator").get(tag_url(acme, live)).content.decode()
    assert "follow the environment's pacing: Off" in page


def test_the_numbers_page_links_each_tag_filter_to_its_pacing(acme, tags):
    page = client_for("vic_viewer").get(reverse("numbers:list", args=[acme.slug]) + "?tag=fresh").content
    assert reverse("pacing:tag_index", args=[acme.slug, "fresh"]) in page.decode()
    assert "Pacing for fresh" in page.decode()


def test_an_unknown_tag_is_not_found(acme, live, tags):
    assert client_for("olga_operator").get(tag_url(acme, live, "nope")).status_code == 404


def test_the_call_pacing_modal_names_the_tags_paced_on_their_own(acme, live, tags):
    page = client_for("vic_viewer").get(reverse("pacing:policy", args=[acme.slug, live.pk])).content.decode()
    assert "A tag can have pacing of its own" in page
    with workspace_scope(acme):
        tag_policy_update(environment=live, tag=tags["texas"], actor=None, limits=Limits(60))
    page = client_for("vic_viewer").get(reverse("pacing:policy", args=[acme.slug, live.pk])).content.decode()
    assert f'href="{tag_url(acme, live, "texas")}"' in page
    assert "follow their tag's own pacing in Live instead of this" in page


def test_the_call_pacing_modal_saves_jitter_and_a_warm_up_and_refuses_a_bad_one(acme, live):
    url = reverse("pacing:policy", args=[acme.slug, live.pk])
    bad = {"enabled": "on", "gap_minutes": "1", "daily_cap": "75", "ramp": "10, 80"}
    response = client_for("olga_operator").post(url, bad)
    assert response.status_code == 422
    assert "at most the daily cap (75 calls): 80 is more" in response.content.decode()
    good = bad | {"ramp": "10 20 40", "jitter_seconds": "45"}
    assert client_for("olga_operator").post(url, good).status_code == 302
    with workspace_scope(acme):
        policy = PacingPolicy.objects.get(environment=live)
    assert (policy.jitter_seconds, policy.ramp) == (45, [10, 20, 40])
    page = client_for("olga_operator").get(url).content.decode()
    assert 'value="10, 20, 40"' in page and 'value="45"' in page
