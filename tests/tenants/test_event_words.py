"""Each kind of audit event reads as words: before → after in the units typed, names not ids, numbers
formatted, dates with the year and time zone. Events recorded by older code still read the same way."""

import datetime as dt
import uuid

import pytest

from agents.services import agent_create, agent_update, variant_create, variant_update
from pacing.limits import Limits
from pacing.services import policy_update, tag_policy_remove, tag_policy_update
from phone_numbers.models import PhoneNumber
from phone_numbers.services import number_buy, number_detach, number_link, number_update
from providers.sandbox import adapter as sandbox
from providers.services import connection_update
from tenants.models import AuditEvent, Environment
from tenants.scope import workspace_scope
from tenants.services import environment_update_sip, member_add
from tenants.templatetags.activity import event_details, event_target, event_when
from tests.helpers import owner_of, sandbox_connection, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(acme):
    connection = sandbox_connection(acme)
    with workspace_scope(acme):
        actor = owner_of(acme)
        yield {
            "ws": acme,
            "actor": actor,
            "connection": connection,
            "live": Environment.objects.get(kind="live"),
            "sandbox": Environment.objects.get(kind="sandbox"),
            "agent": agent_create(
                workspace=acme, actor=actor, name="Front desk", sip_destination="sip:f@x.example"
            ),
        }


def last(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).first()


def legacy(action: str, **details) -> AuditEvent:
    """An event as older code recorded it (never saved: only its words are under test)."""
    return AuditEvent(
        action=action, details=details, created_at=dt.datetime(2026, 12, 2, 14, 5, tzinfo=dt.UTC)
    )


def link(desk, e164=sandbox.STARTER_NUMBERS[0], **extra):
    return number_link(
        workspace=desk["ws"], actor=desk["actor"], connection=desk["connection"], e164=e164,
        environment=extra.pop("environment", desk["live"]), **extra,
    )  # fmt: skip


def test_a_linked_number_says_where_it_went_and_what_it_carries(desk):
    link(desk, agent=desk["agent"], tag_names=["texas", "sales-us"])
    assert event_details(last("number.linked")) == [
        ("Account", "Sandbox US"),
        ("Environment", "Live"),
        ("Agent", "Front desk"),
        ("Tags", "sales-us, texas"),
    ]


def test_an_edit_reads_before_and_after_with_tags_added_and_removed(desk):
    number = link(desk, environment=desk["sandbox"], tag_names=["sales", "vip"])
    number_update(
        number=number, actor=desk["actor"], version=number.version, environment=desk["live"],
        agent=desk["agent"], variant=None, tag_names=["vip", "texas"],
    )  # fmt: skip
    assert event_details(last("number.updated")) == [
        ("Environment", "Sandbox → Live"),
        ("Agent", "none → Front desk"),
        ("Tags", "+texas −sales"),
    ]
    old = legacy("number.updated", environment=["Sandbox", "Live"], tags=["sales, vip", "texas, vip"])
    assert event_details(old) == [("Environment", "Sandbox → Live"), ("Tags", "+texas −sales")]


def test_a_pacing_change_reads_in_minutes_and_hours(desk):
    def paced(gap_seconds, windows, daily_cap=0):
        policy_update(
            environment=desk["live"], actor=desk["actor"], enabled=True,
            gap_seconds=gap_seconds, windows=windows, daily_cap=daily_cap,
        )  # fmt: skip
        return event_details(last("pacing.updated"))

    assert paced(120, [(100, 86400)]) == [
        ("Environment", "Live"),
        ("Limit call frequency", "off → on"),
        ("Wait between calls", "no wait → 2 min"),
        ("At most", "no cap → 100 calls per 24 hours"),
    ]
    assert paced(300, [(50, 43200)]) == [
        ("Environment", "Live"),
        ("Wait between calls", "2 min → 5 min"),
        ("At most", "100 calls per 24 hours → 50 calls per 12 hours"),
    ]
    # Stacked windows and a daily cap, in the units they were typed in, only what changed.
    assert paced(60, [(5, 3600), (3, 900)], daily_cap=75) == [
        ("Environment", "Live"),
        ("Wait between calls", "5 min → 1 min"),
        ("At most", "50 calls per 12 hours → 3 calls per 15 minutes, 5 per hour"),
        ("Per day", "no daily cap → 75 calls a day"),
    ]
    recorded = AuditEvent.objects.filter(action="pacing.updated").count()
    paced(60, [(3, 900), (5, 3600)], daily_cap=75)  # the same policy, rows in another order
    assert AuditEvent.objects.filter(action="pacing.updated").count() == recorded
    # Older events kept only the fields that changed, in seconds.
    assert event_details(legacy("pacing.updated", environment="live", window_seconds=[3600, 7200])) == [
        ("Environment", "Live"),
        ("Cap window", "1 h → 2 h"),
    ]
    assert event_details(legacy("pacing.updated", environment="live", gap_seconds=[90, 0], cap=[5, 10])) == [
        ("Environment", "Live"),
        ("Wait between calls", "90 s → no wait"),
        ("At most", "5 → 10 calls"),
    ]


def test_a_tags_pacing_and_cadence_read_in_words(desk):
    from phone_numbers.models import Tag

    fresh = Tag.objects.create(name="fresh")
    policy_update(environment=desk["live"], actor=desk["actor"], enabled=True, gap_seconds=60)
    tag_policy_update(
        environment=desk["live"], tag=fresh, actor=desk["actor"], limits=Limits(300, (), 40, 30, (10, 20))
    )
    assert event_details(last("pacing.tag_policy_updated")) == [
        ("Environment", "Live"),
        ("Tag", "fresh"),
        ("Its numbers follow", "the environment's policy → its own policy"),
        ("Wait between calls", "1 min → 5 min"),
        ("Per day", "no daily cap → 40 calls a day"),
        ("Random extra wait", "no random wait → up to 30 seconds of random extra wait"),
        ("Warm-up", "no warm-up → new numbers warm up over 2 days: 10, 20 calls, then 40 a day"),
    ]
    tag_policy_remove(environment=desk["live"], tag=fresh, actor=desk["actor"])
    assert event_details(last("pacing.tag_policy_removed"))[2:4] == [
        ("Its numbers follow", "its own policy → the environment's policy"),
        ("Wait between calls", "5 min → 1 min"),
    ]


def test_agent_variant_environment_and_provider_changes_read_before_and_after(desk, acme):
    agent_update(
        agent=desk["agent"], actor=desk["actor"], name="Reception", sip_destination="sip:f@x.example"
    )
    assert event_details(last("agent.updated")) == [("Name", "Front desk → Reception")]
    variant = variant_create(agent=desk["agent"], actor=desk["actor"], name="v3")
    variant_update(variant=variant, actor=desk["actor"], name="v4")
    assert event_details(last("variant.updated")) == [("Agent", "Reception"), ("Name", "v3 → v4")]
    assert event_details(legacy("variant.updated", agent="Reception", name=["v3", "v4"])) == [
        ("Agent", "Reception"),
        ("Name", "v3 → v4"),
    ]
    environment_update_sip(
        environment=desk["live"], actor=desk["actor"], sip_main="sip:live@acme.example", sip_fallback=""
    )
    assert event_details(last("environment.updated"))[0][0] == "Main SIP address"
    assert " → sip:live@acme.example" in event_details(last("environment.updated"))[0][1]
    connection_update(
        connection=desk["connection"], actor=desk["actor"], label="Main US",
        credentials=desk["connection"].credentials,
    )  # fmt: skip
    assert event_details(last("provider.updated")) == [("Name", "Sandbox US → Main US")]
    member_add(workspace=acme, user=user("vic_viewer"), role="operator", actor=desk["actor"])
    added = last("member.added")
    assert (event_target(added, "acme"), event_details(added)) == ("vic_viewer", [("Role", "Operator")])
    promoted = legacy("member.role_changed", user="vic_viewer", role=["operator", "admin"])
    promoted.target_type, promoted.target_label = "membership", "vic_viewer in 1 as operator"
    assert (event_target(promoted, "acme"), event_details(promoted)) == (
        "vic_viewer",
        [("Role", "Operator → Admin")],
    )


def test_numbers_are_formatted_and_provider_ids_are_not_shown(desk):
    number_buy(
        workspace=desk["ws"], actor=desk["actor"], idempotency_key=uuid.uuid4().hex,
        connection=desk["connection"], environment=desk["live"], e164="+14155550100",
    )  # fmt: skip
    bought = last("number.bought")
    assert "provider_ref" in bought.details and event_details(bought) == []
    assert bought.target_label == "+1 415-555-0100"
    failed = legacy("number.buy_failed", e164="+14155550101", error="Taken by +14155550101.", code="21422")
    assert event_details(failed) == [
        ("Number", "+1 415-555-0101"),
        ("Error", "Taken by +1 415-555-0101."),
        ("Provider code", "21422"),
    ]
    requeued = legacy("campaign.call_requeued", destination="+442079460958")
    assert event_details(requeued) == [("Destination", "+44 20 7946 0958")]
    # An event recorded before numbers read formatted still shows its target formatted.
    old = AuditEvent(target_type="campaigncall", target_id="7", target_label="+14155550142 (Failed)")
    assert event_target(old, "acme") == "+1 415-555-0142 (Failed)"


def test_a_relinked_number_is_the_same_number_again(desk):
    number = link(desk, tag_names=["texas"])
    number_detach(number=number, actor=desk["actor"])
    again = link(desk, environment=desk["sandbox"])
    assert again.pk == number.pk and again.state == PhoneNumber.State.ACTIVE
    assert event_details(last("number.relinked")) == [("Account", "Sandbox US"), ("Environment", "Sandbox")]


def test_dates_carry_the_year_and_the_time_zone():
    assert event_when(legacy("number.detached")) == (
        '<time datetime="2026-12-02T14:05:00+00:00">2 Dec 2026, 14:05 UTC</time>'
    )
