"""Number reputation in Dialtone: the schedule (off by default, set by admins, audited), the refresh that
asks Telnyx (the local fake, through the SDK) only about what is due, once even when run twice, and the
number's page showing the cached level."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from phone_numbers.models import NumberReputation, PhoneNumber, ReputationSchedule
from phone_numbers.reputation import numbers_due, refresh_all, reputation_refresh, reputation_schedule_set
from phone_numbers.selectors import reputation_of
from providers.models import ProviderConnection
from tenants.models import AuditEvent, Environment
from tenants.scope import workspace_scope
from tenants.templatetags.activity import event_details
from tests.helpers import owner_of, sandbox_connection, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def telnyx_numbers(acme, telnyx_server, settings):
    """Three active Telnyx numbers of acme, monitored at the fake: one high and flagged, two low."""
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "telnyx": telnyx_server.base_url}
    telnyx_server.monitor("+14155550100", spam_risk="high", spam_category="Robocall")
    telnyx_server.monitor("+14155550101")
    telnyx_server.monitor("+14155550102", refreshed=False)
    with workspace_scope(acme):
        connection = ProviderConnection.objects.create(
            provider="telnyx", label="Telnyx", credentials=telnyx_server.credentials
        )
        live = Environment.objects.get(kind="live")
        return [
            PhoneNumber.objects.create(
                e164=f"+1415555010{i}",
                environment=live,
                connection=connection,
                provider_ref=f"N{i}",
                state="active",
            )
            for i in range(3)
        ]


def schedule(workspace, every_days):
    with workspace_scope(workspace):
        reputation_schedule_set(every_days=every_days, actor=owner_of(workspace))


def test_nothing_is_checked_until_someone_sets_a_schedule(acme, telnyx_server, telnyx_numbers):
    assert refresh_all() == 0
    assert telnyx_server.fresh_checks == []


def test_a_refresh_checks_each_due_number_and_caches_what_telnyx_said(acme, telnyx_server, telnyx_numbers):
    schedule(acme, 7)

    assert refresh_all() == 3

    assert sorted(telnyx_server.fresh_checks) == ["+14155550100", "+14155550101", "+14155550102"]
    with workspace_scope(acme):
        cached = reputation_of(telnyx_numbers)
    high = cached[telnyx_numbers[0].pk]
    assert (high.level, high.flagged, high.category, high.source) == ("high", True, "Robocall", "telnyx")
    assert high.checked_at is not None
    assert cached[telnyx_numbers[1].pk].level == "low"


def test_a_second_run_asks_only_about_what_is_due_again(acme, telnyx_server, telnyx_numbers):
    schedule(acme, 7)
    refresh_all()
    with workspace_scope(acme):
        NumberReputation.objects.filter(number=telnyx_numbers[1]).update(
            fetched_at=timezone.now() - timedelta(days=8)
        )
    telnyx_server.fresh_checks.clear()

    refresh_all()
    refresh_all()  # safe to run twice: nothing is due any more

    assert telnyx_server.fresh_checks == ["+14155550101"]


def test_a_number_claimed_by_a_run_in_flight_is_not_asked_about_twice(acme, telnyx_server, telnyx_numbers):
    schedule(acme, 1)
    now = timezone.now()
    with workspace_scope(acme):
        NumberReputation.objects.create(number=telnyx_numbers[0], source="telnyx", claimed_at=now)
        assert set(numbers_due(now=now)) == set(telnyx_numbers[1:])
        reputation_refresh(now=now)

    assert sorted(telnyx_server.fresh_checks) == ["+14155550101", "+14155550102"]


def test_an_unavailable_provider_leaves_the_number_due_once_the_claim_lapses(
    acme, telnyx_server, telnyx_numbers
):
    schedule(acme, 30)
    telnyx_server.fail_next("GET", "/reputation/numbers/*", 503, times=10)
    now = timezone.now()
    with workspace_scope(acme):
        assert reputation_refresh(now=now) == 0
        assert list(numbers_due(now=now)) == []  # claimed: not asked again at once
        assert len(numbers_due(now=now + timedelta(hours=2))) == 3


def test_a_refusal_is_kept_with_its_sentence_until_the_next_period(acme, telnyx_server, telnyx_numbers):
    schedule(acme, 7)
    telnyx_server.fail_next("GET", "/reputation/numbers/*", 401, times=10)
    with workspace_scope(acme):
        reputation_refresh()
        row = NumberReputation.objects.get(number=telnyx_numbers[0])
        assert row.level == "unknown" and "credentials" in row.why
        assert list(numbers_due()) == []


def test_a_level_that_changes_is_on_the_numbers_history(acme, telnyx_server, telnyx_numbers):
    schedule(acme, 1)
    refresh_all()
    telnyx_server.set_reputation("+14155550101", spam_risk="medium")
    with workspace_scope(acme):
        NumberReputation.objects.update(fetched_at=timezone.now() - timedelta(days=2))
    refresh_all()

    with workspace_scope(acme):
        events = AuditEvent.objects.filter(
            action="number.reputation_changed", target_id=str(telnyx_numbers[1].pk)
        ).order_by("pk")
        assert [e.details["changed"]["reputation"] for e in events] == [
            ["Unknown", "Low spam risk"],
            ["Low spam risk", "Medium spam risk"],
        ]
        assert event_details(events.last()) == [("Reputation", "Low spam risk → Medium spam risk")]


def test_numbers_of_providers_without_a_feed_are_never_checked(acme, telnyx_numbers, twilio_server, settings):
    settings.PROVIDER_BASE_URLS = {**settings.PROVIDER_BASE_URLS, "twilio": twilio_server.base_url}
    with workspace_scope(acme):
        twilio = ProviderConnection.objects.create(
            provider="twilio", label="Twilio", credentials=twilio_server.credentials
        )
        other = PhoneNumber.objects.create(
            e164="+13125550100",
            environment=Environment.objects.get(kind="live"),
            connection=twilio,
            provider_ref="PN1",
            state="active",
        )
    schedule(acme, 1)
    with workspace_scope(acme):
        assert other not in numbers_due()


def test_another_workspaces_schedule_checks_only_its_own_numbers(acme, globex, telnyx_server, telnyx_numbers):
    schedule(globex, 1)

    refresh_all()

    assert telnyx_server.fresh_checks == []
    with workspace_scope(globex):
        assert reputation_of(telnyx_numbers) == {}  # acme's numbers are not globex's to read


# --- the schedule's form ------------------------------------------------------------------------------


def test_an_admin_sets_the_schedule_and_it_is_audited(acme):
    client = Client()
    client.force_login(user("alice_admin"))

    response = client.post("/w/acme/numbers/reputation/", {"every_days": "7"})

    assert response.status_code == 302
    with workspace_scope(acme):
        assert ReputationSchedule.objects.get().every_days == 7
        event = AuditEvent.objects.get(action="reputation.schedule_changed")
        assert event_details(event) == [("Checks", "Never → Every 7 days")]
        assert event.actor == user("alice_admin")


@pytest.mark.parametrize("typed", ["3", "", "seven", "-1"])
def test_a_period_not_offered_is_refused_with_a_message_and_nothing_saved(acme, typed):
    client = Client()
    client.force_login(owner_of(acme))

    response = client.post("/w/acme/numbers/reputation/", {"every_days": typed})

    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode() or "required" in response.content.decode()
    with workspace_scope(acme):
        assert not ReputationSchedule.objects.exists()
        assert not AuditEvent.objects.filter(action="reputation.schedule_changed").exists()


def test_an_operator_cannot_spend_on_checks(acme):
    client = Client()
    client.force_login(user("olga_operator"))

    assert client.post("/w/acme/numbers/reputation/", {"every_days": "1"}).status_code == 403
    with workspace_scope(acme):
        assert not ReputationSchedule.objects.exists()


# --- the number's page --------------------------------------------------------------------------------


def test_the_numbers_page_shows_its_cached_level_and_flag(acme, telnyx_numbers):
    schedule(acme, 7)
    refresh_all()
    client = Client()
    client.force_login(user("vic_viewer"))

    page = client.get(f"/w/acme/numbers/{telnyx_numbers[0].pk}/").content.decode()

    assert 'id="reputation-title"' in page
    assert "High spam risk" in page and "Flagged as Robocall" in page
    assert "every 7 days" in page
    assert "Schedule checks" not in page  # a viewer can't change it


def test_a_number_never_checked_says_so_and_why_checks_are_off(acme, telnyx_numbers):
    client = Client()
    client.force_login(owner_of(acme))

    page = client.get(f"/w/acme/numbers/{telnyx_numbers[2].pk}/").content.decode()

    assert "Not checked yet" in page and "Checks are off" in page
    assert "Schedule checks" in page


def test_a_number_telnyx_has_not_checked_shows_unknown_with_the_reason(acme, telnyx_server, telnyx_numbers):
    schedule(acme, 7)
    telnyx_server.reputations.pop("+14155550102")  # no longer monitored: 404
    refresh_all()
    client = Client()
    client.force_login(owner_of(acme))

    page = client.get(f"/w/acme/numbers/{telnyx_numbers[2].pk}/").content.decode()

    assert "Unknown" in page and "does not monitor" in page


def test_a_sandbox_number_shows_the_sandbox_feed(acme):
    connection = sandbox_connection(acme)
    with workspace_scope(acme):
        number = PhoneNumber.objects.create(
            e164="+14155550199",
            environment=Environment.objects.get(kind="sandbox"),
            connection=connection,
            provider_ref="SB14155550199",
            state="active",
        )
    schedule(acme, 1)

    assert refresh_all() == 1
    with workspace_scope(acme):
        assert reputation_of([number])[number.pk].level in ("low", "medium", "high")
