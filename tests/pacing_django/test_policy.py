"""The Call pacing modal: validated in minutes and hours, stored in seconds, audited, read-only for viewers."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from pacing.models import PacingPolicy
from pacing.pacer import Policy
from pacing.services import pacer_policy, policy_update
from tenants.models import AuditEvent, Environment
from tenants.scope import workspace_scope
from tests.helpers import user

pytestmark = pytest.mark.django_db


@pytest.fixture
def live(acme):
    with workspace_scope(acme):
        return Environment.objects.get(kind="live")


def client_for(username):
    client = Client()
    client.force_login(user(username))
    return client


def url(acme, live):
    return reverse("pacing:policy", args=[acme.slug, live.pk])


def test_operator_saves_minutes_and_hours_as_seconds_and_it_is_audited(acme, live):
    response = client_for("olga_operator").post(
        url(acme, live),
        {"enabled": "on", "gap_minutes": "2", "cap_1": "100", "every_1": "24", "unit_1": "hours"},
    )
    assert response.status_code == 302
    with workspace_scope(acme):
        policy = PacingPolicy.objects.get(environment=live)
        assert (policy.enabled, policy.gap_seconds, policy.windows, policy.daily_cap) == (
            True,
            120,
            ((100, 86400),),
            0,
        )
        assert AuditEvent.objects.filter(action="pacing.updated").exists()


@pytest.mark.parametrize(
    ("posted", "says"),
    [
        ({"enabled": "on", "gap_minutes": "0"}, "at least 1"),
        ({"enabled": "on", "gap_minutes": "99999"}, "at most 1,440 minutes"),
        ({"enabled": "on", "gap_minutes": "2.5"}, "whole number of minutes"),
        ({"enabled": "on", "cap_2": "100"}, "over how long the cap counts"),
        ({"enabled": "on", "every_3": "24"}, "how many calls"),
        ({"enabled": "on", "cap_1": "5000", "every_1": "24"}, "at most 1,000 calls"),
        ({"enabled": "on", "cap_1": "5", "every_1": "200", "unit_1": "hours"}, "at most 168 hours"),
        ({"enabled": "on", "cap_1": "5", "every_1": "2", "unit_1": "days"}, "Choose minutes or hours"),
        ({"enabled": "on", "daily_cap": "0"}, "at least 1"),
        ({"enabled": "on", "daily_cap": "1001"}, "at most 1,000 calls"),
        ({"enabled": "on"}, "Set a wait between calls, a window or a daily cap"),
    ],
)
def test_zero_absurd_and_half_set_values_are_refused_clearly(acme, live, posted, says):
    response = client_for("olga_operator").post(url(acme, live), posted, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert says in response.content.decode()
    with workspace_scope(acme):
        assert not PacingPolicy.objects.exists()


def test_either_limit_alone_is_enough(acme, live):
    with workspace_scope(acme):
        policy_update(environment=live, actor=None, enabled=True, windows=[(3, 60)])
        policy = policy_update(environment=live, actor=None, enabled=True, gap_seconds=30)
        assert pacer_policy(policy).gap_s > 30 and pacer_policy(policy).windows == ()
        policy = policy_update(environment=live, actor=None, enabled=True, daily_cap=75)
    assert pacer_policy(policy) == Policy(daily_cap=75)


def test_a_cadence_reaches_the_pacer_and_an_unchecked_ramp_cannot_stop_dispatch(acme, live):
    with workspace_scope(acme):
        policy = policy_update(environment=live, actor=None, enabled=True, daily_cap=40, jitter_seconds=30,
                               ramp=[10, 20])  # fmt: skip
        assert pacer_policy(policy) == Policy(daily_cap=40, jitter_s=30, ramp=(10, 20))
        policy.ramp = [0, 20, 99]  # as Django admin could save it: the JSON field has no check
        assert pacer_policy(policy).ramp == (1, 20, 40)
        policy.daily_cap, policy.gap_seconds = 0, 60
        assert pacer_policy(policy).ramp == ()


def test_the_service_refuses_what_the_form_would(acme, live):
    with workspace_scope(acme), pytest.raises(ValidationError):
        policy_update(environment=live, actor=None, enabled=True, gap_seconds=-1)


def test_viewer_reads_the_policy_but_cannot_change_it(acme, live):
    viewer = client_for("vic_viewer")
    page = viewer.get(url(acme, live)).content.decode()
    assert "Only operators and admins can change call pacing" in page and "disabled" in page
    assert viewer.post(url(acme, live), {"enabled": "on", "gap_minutes": "5"}).status_code == 403


def test_the_modal_says_what_the_policy_allows(acme, live, make_desk=None):
    with workspace_scope(acme):
        policy_update(environment=live, actor=None, enabled=True, gap_seconds=120, windows=[(100, 86400)])
    page = client_for("olga_operator").get(url(acme, live)).content.decode()
    assert "tagged for outbound in Live" in page and "calls/hour" in page


def test_the_modal_counts_the_active_tagged_numbers_of_its_environment(acme, live):
    from phone_numbers.models import PhoneNumber, Tag
    from providers.models import ProviderConnection

    with workspace_scope(acme):
        connection = ProviderConnection.objects.create(
            provider="sandbox", label="S", credentials={"account": "x"}
        )
        sandbox = Environment.objects.get(kind="sandbox")
        outbound = Tag.objects.create(name="outbound")
        for i, (environment, state, tagged) in enumerate(
            [(live, "active", True), (live, "active", True), (live, "active", False),
             (live, "detached", True), (live, "pending", True), (sandbox, "active", True)]
        ):  # fmt: skip
            number = PhoneNumber.objects.create(
                e164=f"+1415555{i:04d}", environment=environment, connection=connection, state=state
            )
            if tagged:
                number.tags.add(outbound)
        policy_update(environment=live, actor=None, enabled=True, gap_seconds=60)
    page = client_for("olga_operator").get(url(acme, live)).content.decode()
    assert "With 2 numbers tagged for outbound in Live" in page


def test_the_numbers_page_has_a_call_pacing_button_for_everyone(acme):
    page = client_for("vic_viewer").get(reverse("numbers:list", args=[acme.slug])).content.decode()
    assert reverse("pacing:index", args=[acme.slug]) in page and "Call pacing" in page


def test_the_summary_line_follows_typed_values_without_saving_them(acme, live):
    typed = {"enabled": "on", "gap_minutes": "2", "cap_1": "20", "every_1": "24", "unit_1": "hours"}
    headers = {"HX-Request": "true", "HX-Target": "capacity"}
    line = client_for("vic_viewer").get(url(acme, live), typed, headers=headers).content.decode()
    assert line.lstrip().startswith('<p class="pacing-capacity muted" id="capacity"')
    assert "<strong>0 calls/hour</strong>" in line and "(0.83 per number)" in line  # no tagged numbers
    line = client_for("olga_operator").get(url(acme, live), {"enabled": "on"}, headers=headers)
    assert "Set a wait between calls, a window or a daily cap" in line.content.decode()
    with workspace_scope(acme):
        assert not PacingPolicy.objects.exists()
