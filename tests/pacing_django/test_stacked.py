"""Stacked limits in the environment's policy: up to four windows and a daily cap, each bad combination
refused with its own message (service and modal alike), described and audited in words, and the one
window of older policies carried into window 1 by the migration."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from pacing.forms import PacingPolicyForm
from pacing.limits import Limits
from pacing.models import PacingPolicy
from pacing.pacer import Policy
from pacing.services import pacer_policy, policy_update
from tenants.models import AuditEvent, Environment
from tenants.scope import workspace_scope
from tests.helpers import user

pytestmark = pytest.mark.django_db

M, H = 60, 3600


@pytest.fixture
def live(acme):
    with workspace_scope(acme):
        return Environment.objects.get(kind="live")


def operator():
    client = Client()
    client.force_login(user("olga_operator"))
    return client


def url(acme, live):
    return reverse("pacing:policy", args=[acme.slug, live.pk])


# (gap, windows, daily cap) -> (the part refused, what it says)
BAD = [
    ((0, [(3, 15 * M), (2, H)], 0), ("window_1", "3 calls per 15 minutes never binds under 2 per hour")),
    (
        (0, [(3, 15 * M), (3, H)], 0),
        ("window_1", "a shorter window must allow fewer calls than a longer one"),
    ),
    ((0, [(2, H), (3, 15 * M)], 0), ("window_2", "3 calls per 15 minutes never binds under 2 per hour")),
    ((0, [(3, 15 * M), (12, H)], 0), ("window_2", "12 calls per hour never binds under 3 per 15 minutes")),
    ((0, [(3, H), (4, H)], 0), ("window_2", "Another window also counts calls over 1 hour: keep one")),
    ((10 * M, [(3, 15 * M)], 0), ("window_1", "never binds with 10 minutes between calls (at most 2 fit")),
    ((0, [(5, H)], 120), ("daily_cap", "A daily cap of 120 calls never binds under 5 per hour")),
    ((30 * M, [], 48), ("daily_cap", "A daily cap of 48 calls never binds with 30 minutes between calls")),
    ((0, [(100, H)], 50), ("window_1", "100 calls per hour never binds under 50 a day (at most 100 fit")),
    ((0, [(3, 0)], 0), ("window_1", "A cap needs both a number of calls and a window")),
    ((0, [(0, H)], 0), ("window_1", "A cap needs both a number of calls and a window")),
    ((0, [(1001, H)], 0), ("window_1", "at 1,000 calls per window at most")),
    ((0, [(5, 8 * 24 * H)], 0), ("window_1", "A window is at most 168 hours (a week)")),
    ((0, [(1, M), (2, 10 * M), (3, H), (4, 3 * H), (5, 24 * H)], 0), ("window_1", "Use at most 4 windows")),
    ((25 * H, [], 0), ("gap", "at most 24 hours")),
    ((0, [], 1001), ("daily_cap", "1,000 calls a day at most")),
]


@pytest.mark.parametrize(("limits", "refusal"), BAD)
def test_each_bad_combination_is_refused_with_its_own_words(acme, live, limits, refusal):
    gap, windows, daily = limits
    assert (
        Limits.of(gap_s=gap, windows=windows, daily_cap=daily).problems()[refusal[0]].count(refusal[1]) == 1
    )
    with workspace_scope(acme), pytest.raises(ValidationError) as refused:
        policy_update(
            environment=live, actor=None, enabled=True, gap_seconds=gap, windows=windows, daily_cap=daily
        )
    assert refusal[1] in refused.value.message_dict[refusal[0]][0]
    with workspace_scope(acme):
        assert not PacingPolicy.objects.exists()  # nothing half-written


@pytest.mark.parametrize(
    ("gap", "windows", "daily"),
    [
        (
            M,
            [(3, 15 * M), (5, H), (10, 3 * H)],
            75,
        ),  # the team: "1 per minute, 3 per 15 minutes, ..."
        (0, [(100, H)], 60),  # the hourly cap still holds across midnight (60 before, 40 after)
        (0, [(80, 24 * H)], 50),  # 50 a day, and not 100 in the 24 hours around midnight
        (0, [(100, 7 * 24 * H)], 50),  # a weekly cap under a daily one
        (2 * M, [(20, 24 * H)], 0),
        (0, [(1000, 7 * 24 * H)], 999),
    ],
)
def test_limits_that_can_each_hold_a_number_are_accepted(acme, live, gap, windows, daily):
    with workspace_scope(acme):
        policy = policy_update(
            environment=live, actor=None, enabled=True, gap_seconds=gap, windows=windows, daily_cap=daily
        )
    assert policy.limits == Limits(gap, tuple(sorted(windows, key=lambda w: w[1])), daily)


def test_windows_are_stored_shortest_first_and_the_pacer_gets_them_widened_but_not_the_day(acme, live):
    slack = settings.CAMPAIGN_DIAL_DEADLINE_S
    with workspace_scope(acme):
        policy = policy_update(
            environment=live, actor=None, enabled=True, gap_seconds=M,
            windows=[(10, 3 * H), (3, 15 * M), (5, H)], daily_cap=75,
        )  # fmt: skip
        stored = PacingPolicy.objects.get(pk=policy.pk)
    assert [(stored.window1_cap, stored.window1_seconds), (stored.window4_cap, stored.window4_seconds)] == [
        (3, 15 * M),
        (0, 0),
    ]
    assert stored.windows == ((3, 15 * M), (5, H), (10, 3 * H))
    assert pacer_policy(stored) == Policy(
        gap_s=M + slack, windows=((3, 15 * M + slack), (5, H + slack), (10, 3 * H + slack)), daily_cap=75
    )
    assert stored.describe() == (
        "Wait 1 minute between calls; 3 calls per 15 minutes, 5 per hour, 10 per 3 hours; 75 calls a day"
    )
    stored.enabled = False
    assert stored.describe() == "Off" and pacer_policy(stored) == Policy()


def test_the_database_refuses_half_windows_and_values_past_the_maxima(acme, live):
    for values in (
        {"window2_cap": 3},
        {"window3_seconds": 60},
        {"daily_cap": 1001},
        {"window1_cap": 1001, "window1_seconds": 60},
    ):
        with workspace_scope(acme), pytest.raises(IntegrityError), transaction.atomic():
            PacingPolicy.objects.create(environment=live, **values)


def test_the_modal_saves_rows_in_minutes_and_hours_and_says_it_in_words(acme, live):
    posted = {
        "enabled": "on", "gap_minutes": "1",
        "cap_1": "5", "every_1": "1", "unit_1": "hours",
        "cap_3": "3", "every_3": "15", "unit_3": "minutes",  # a row left empty between: ignored
        "daily_cap": "75",
    }  # fmt: skip
    response = operator().post(url(acme, live), posted, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    with workspace_scope(acme):
        policy = PacingPolicy.objects.get(environment=live)
        assert policy.limits == Limits(M, ((3, 15 * M), (5, H)), 75)
    page = operator().get(url(acme, live)).content.decode()
    assert "Wait 1 minute between calls; 3 calls per 15 minutes, 5 per hour; 75 calls a day." in page
    # Opened again, the rows read back in the units they were typed in, shortest first.
    form = page[page.index('data-testid="window-1"') : page.index('data-testid="window-3"')]
    assert 'name="every_1"' in form and 'value="15"' in form and '<option value="minutes" selected>' in form
    assert 'name="every_2"' in form and '<option value="hours" selected>' in form


def test_a_contradiction_re_renders_the_modal_with_the_message_on_its_row(acme, live):
    posted = {
        "enabled": "on", "cap_1": "2", "every_1": "1", "unit_1": "hours",
        "cap_2": "3", "every_2": "15", "unit_2": "minutes", "daily_cap": "75",
    }  # fmt: skip
    response = operator().post(url(acme, live), posted, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    page = response.content.decode()
    row = page[page.index('data-testid="window-2"') : page.index('data-testid="window-3"')]
    assert "3 calls per 15 minutes never binds under 2 per hour" in row and 'aria-invalid="true"' in row
    assert 'value="3"' in row and 'value="15"' in row  # nothing typed is lost
    with workspace_scope(acme):
        assert not PacingPolicy.objects.exists()


def test_the_summary_as_typed_describes_every_limit(acme, live):
    typed = {
        "enabled": "on",
        "cap_1": "3",
        "every_1": "15",
        "unit_1": "minutes",
        "cap_2": "5",
        "every_2": "1",
    }
    headers = {"HX-Request": "true", "HX-Target": "capacity"}
    line = operator().get(url(acme, live), typed | {"daily_cap": "75"}, headers=headers).content.decode()
    assert "3 calls per 15 minutes, 5 per hour; 75 calls a day." in line
    assert "(3.13 per number)" in line  # 75 a day binds in the long run
    line = operator().get(url(acme, live), typed | {"cap_2": "2"}, headers=headers).content.decode()
    assert "3 calls per 15 minutes never binds under 2 per hour" in line


def test_every_change_is_audited_before_and_after_in_words(acme, live):
    with workspace_scope(acme):
        policy_update(environment=live, actor=None, enabled=True, windows=[(3, 15 * M), (5, H)])
        policy_update(environment=live, actor=None, enabled=True, windows=[(5, H)], daily_cap=75)
        event = AuditEvent.objects.filter(action="pacing.updated").first()
    assert event.details["changed"]["windows"] == ["3 calls per 15 minutes, 5 per hour", "5 calls per hour"]
    assert event.details["changed"]["daily_cap"] == ["no daily cap", "75 calls a day"]


@pytest.mark.django_db(transaction=True)
def test_the_migration_carries_the_one_window_into_window_1(acme):
    with workspace_scope(acme):
        live, sandbox = (Environment.objects.get(kind=kind) for kind in ("live", "sandbox"))
    executor = MigrationExecutor(connection)
    executor.migrate([("pacing", "0002_calling_hours")])
    with connection.cursor() as cursor:
        for environment, cap, window in ((live, 20, 86400), (sandbox, 0, 0)):
            cursor.execute(
                "INSERT INTO pacing_pacingpolicy (workspace_id, environment_id, enabled, gap_seconds, cap,"
                " window_seconds, hours_days, hours_start_s, hours_end_s, updated_at)"
                " VALUES (%s, %s, true, 120, %s, %s, 127, 28800, 75600, now())",
                [acme.pk, environment.pk, cap, window],
            )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    with workspace_scope(acme):
        assert PacingPolicy.objects.get(environment=live).limits == Limits(120, ((20, 86400),), 0)
        assert PacingPolicy.objects.get(environment=sandbox).limits == Limits(120, (), 0)


@pytest.mark.parametrize(
    ("posted", "field", "says"),
    [
        # A contradiction names the row it is on, whichever rows are filled in.
        (
            {"cap_1": "2", "every_1": "1", "cap_4": "3", "every_4": "15", "unit_4": "minutes"},
            "cap_4",
            "3 calls per 15 minutes never binds under 2 per hour",
        ),
        (
            {"cap_2": "3", "every_2": "1", "cap_3": "4", "every_3": "60", "unit_3": "minutes"},
            "cap_3",
            "Another window also counts calls over 1 hour",
        ),
        (
            {"gap_minutes": "10", "cap_3": "3", "every_3": "15", "unit_3": "minutes"},
            "cap_3",
            "never binds with 10 minutes between calls",
        ),
        (
            {"cap_2": "5", "every_2": "1", "daily_cap": "120"},
            "daily_cap",
            "A daily cap of 120 calls never binds",
        ),
        ({"cap_1": "5", "every_1": "20000", "unit_1": "minutes"}, "every_1", "at most 168 hours"),
        ({"cap_1": "5", "every_1": "169"}, "every_1", "at most 168 hours"),  # hours unless said otherwise
        ({"cap_1": "5", "every_1": "1", "unit_1": "weeks"}, "unit_1", "Choose minutes or hours"),
        ({"cap_1": "²", "every_1": "1"}, "cap_1", "Enter a whole number of calls"),
        ({"enabled": "on"}, "__all__", "Set a wait between calls, a window or a daily cap"),
    ],
)
def test_the_form_puts_each_problem_on_its_row(posted, field, says):
    form = PacingPolicyForm(posted)
    assert not form.is_valid()
    assert any(says in error for error in form.errors[field]), form.errors


def test_the_form_reads_rows_in_their_units_and_ignores_empty_ones():
    posted = {
        "enabled": "on",
        "cap_2": "10",
        "every_2": "3",
        "cap_4": "3",
        "every_4": "15",
        "unit_4": "minutes",
    }
    form = PacingPolicyForm(posted | {"unit_1": "minutes", "daily_cap": "75"})
    assert form.is_valid(), form.errors
    assert form.policy_values() == {
        "enabled": True, "gap_seconds": 0, "windows": [(10, 3 * H), (3, 15 * M)], "daily_cap": 75,
        "jitter_seconds": 0, "ramp": [],
    }  # fmt: skip
